"""The accounts app's services, one module a concern: lockout, login, otp (the one-time
password), trusted_browsers, sessions, password. Reads are in portal/accounts/selectors.py
(docs/architecture.md, "Layers")."""
