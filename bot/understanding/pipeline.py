"""The understanding pipeline: normalize -> classify (Rasa, else keywords) -> safety net -> risk.

It never raises and never waits longer than the NLU timeout: when the Rasa server is down,
slow or confused, the keyword router answers and the degradation is logged once per outage
(and its end once). The safety net runs on every message whichever classifier answered.
"""

from __future__ import annotations

import logging

from bot.understanding.base import Classification, Parse
from bot.understanding.entities import is_licence_only
from bot.understanding.keywords import KeywordRouter, default_router
from bot.understanding.normalize import normalize
from bot.understanding.rasa_client import NluUnavailable, RasaClient
from bot.understanding.risk import RISK_ORDER, URGENT_INTENT, assess, merge
from bot.understanding.safety_net import SafetyNet, default_safety_net
from bot.vocabulary import Risk

log = logging.getLogger(__name__)


class NluPipeline:
    def __init__(
        self,
        rasa: RasaClient | None,
        router: KeywordRouter | None = None,
        safety_net: SafetyNet | None = None,
    ) -> None:
        self.rasa = rasa
        self.router = router or default_router()
        self.safety_net = safety_net or default_safety_net()
        self.degraded = False

    async def _classify(self, text: str) -> tuple[Classification, str]:
        if self.rasa is not None:
            try:
                result = await self.rasa.classify(text)
            except NluUnavailable as exc:
                self._degrade(exc)
            except Exception as exc:  # a bug in the client must not drop the message
                log.exception("NLU client failed")
                self._degrade(exc)
            else:
                if self.degraded:
                    log.info("NLU server is back")
                    self.degraded = False
                return result, "rasa"
        return self.router.classify(text), "keywords"

    def _degrade(self, reason: Exception) -> None:
        if not self.degraded:
            log.warning("NLU server unavailable, answering from keywords: %s", reason)
            self.degraded = True

    async def parse(self, text: str) -> Parse:
        norm = normalize(text)
        if not norm.text:
            return Parse(
                text=text,
                normalized="",
                lang=None,
                intent="out_of_scope",
                confidence=0.0,
                source="keywords",
                was_zawgyi=norm.was_zawgyi,
            )
        result, source = await self._classify(norm.text)
        intent, confidence = result.intent, result.confidence
        # The safety net overrides the classifier: a flagged message is treated as a request
        # for help (intent urgent_help), with the classifier's reading kept in `ranking`.
        alarm = self.safety_net.alarm(norm.text)
        # A licence number alone ("OEA-၁၀၁") is an answer, not a situation: the model's reading
        # of it raises no risk (the safety net, which needs words, still could).
        heard = not is_licence_only(norm.text)
        indicators = merge(result.indicators if heard else (), alarm.indicators if alarm else ())
        risk = max(
            assess(intent if heard else "", indicators),
            alarm.risk if alarm else Risk.NONE,
            key=RISK_ORDER.index,
        )
        if risk is Risk.URGENT and intent != URGENT_INTENT:
            log.info("urgent indicators in a message the classifier read as %s", intent)
            intent, confidence = URGENT_INTENT, 1.0
        ranking = result.ranking or ((result.intent, result.confidence),)
        return Parse(
            text=text,
            normalized=norm.text,
            lang=norm.lang,
            intent=intent,
            confidence=confidence,
            urgent=risk is Risk.URGENT,
            risk=risk,
            indicators=indicators,
            entities=result.entities,
            ranking=ranking,
            source=source,
            was_zawgyi=norm.was_zawgyi,
        )

    async def aclose(self) -> None:
        if self.rasa is not None:
            await self.rasa.aclose()
