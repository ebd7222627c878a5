"""Users domain: accounts, registration, authentication, profiles."""
