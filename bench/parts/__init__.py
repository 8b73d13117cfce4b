"""The load bench's parts: the system under test, the users, the SMTP sink."""
