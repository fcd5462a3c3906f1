"""Operations tooling: the local stack, PKI bootstrap, redrive. Not shipped in any Lambda layer."""
