"""Identity: accounts, passwords, tokens, verification and reset codes, admin."""
