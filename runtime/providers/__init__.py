"""Provider adapters: pure translators between the canonical types and each upstream's wire format."""
