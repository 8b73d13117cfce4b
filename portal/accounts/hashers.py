"""Django's Argon2id hasher with its three parameters taken from settings (README: "Password
hashing"). Everything else, the encoded form (`argon2$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
included, is Django's: hashes move freely between this hasher and Django's, and `must_update`
flags a hash made with other parameters, so it is rehashed at the account's next login."""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class TunedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with ARGON2_TIME_COST, ARGON2_MEMORY_COST_KIB and ARGON2_PARALLELISM, read at
    each hash (not at import), so a settings override applies at once."""

    @property
    def time_cost(self):
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self):
        return settings.ARGON2_MEMORY_COST_KIB

    @property
    def parallelism(self):
        return settings.ARGON2_PARALLELISM
