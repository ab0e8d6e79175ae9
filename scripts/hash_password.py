"""Print an argon2id hash of the analyst password, for ``.streamlit/secrets.toml``.

    python scripts/hash_password.py            # asks for the password twice, without echo

Then put it in ``.streamlit/secrets.toml`` (never commit that file)::

    [roles]
    analyst_password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."
"""

from __future__ import annotations

import getpass
import sys

from argon2 import PasswordHasher


def main() -> int:
    first = getpass.getpass("Analyst password: ")
    if len(first) < 8:
        sys.stderr.write("Use at least 8 characters.\n")
        return 1
    if getpass.getpass("Again: ") != first:
        sys.stderr.write("The two passwords differ. Run the script again.\n")
        return 1
    sys.stdout.write(PasswordHasher().hash(first) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
