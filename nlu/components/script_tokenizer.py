"""A tokenizer for text mixing Burmese, Khmer, Bengali and Latin script.

Tokens are exact substrings of the message (offsets stay valid for entities); their lemma,
which CountVectorsFeaturizer reads by default, is lower-cased with ASCII digits, so "၁၂၃"
and "123" give the same features.
"""

from __future__ import annotations

from typing import Any

import icu
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from components.segment import MODES, ascii_digits, segment


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptTokenizer(Tokenizer):
    """ICU dictionary words (`mode: word`) or syllables (`mode: syllable`) for my/km."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "mode": "word",
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        if self._config["mode"] not in MODES:
            raise ValueError(f"ScriptTokenizer mode must be one of {MODES}")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Word segmentation comes from ICU's bundled dictionaries: retrain when ICU changes."""
        return f"icu-{icu.ICU_VERSION}"

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)
        spans = segment(text, self._config["mode"]) or [(0, len(text))]
        tokens = [Token(text[a:b], a, b, lemma=ascii_digits(text[a:b]).lower()) for a, b in spans]
        return self._apply_token_pattern(tokens)
