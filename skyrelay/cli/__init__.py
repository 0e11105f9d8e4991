"""The `skyrelay` command. Top floor: may import everything, imported by nothing but tests."""
