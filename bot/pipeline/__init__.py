"""The durable path of a message: stored inbound event → dialogue → outbox → channel."""
