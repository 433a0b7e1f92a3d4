"""Writes django_hashes.txt: the password "alice-pass" encoded by each of
Django's hashers, following django/contrib/auth/hashers.py, with fixed
salts so that the file is reproducible (bcrypt and argon2 salts aside).
Needs the `bcrypt` and `argon2-cffi` packages from PyPI.

    python3 django_hashes.py > django_hashes.txt
"""
import base64
import hashlib

import argon2
import bcrypt

PW = b"alice-pass"
SALT = "c0ffeeSaltForTests1"
out = []

for name, algo, iterations in (("pbkdf2_sha256", "sha256", 1000), ("pbkdf2_sha1", "sha1", 1000)):
    dk = hashlib.pbkdf2_hmac(algo, PW, SALT.encode(), iterations)
    out.append((f"{name}${iterations}${SALT}${base64.b64encode(dk).decode()}", name))

ph = argon2.PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2, type=argon2.Type.ID)
out.append(("argon2" + ph.hash(PW), "argon2"))
ph_i = argon2.PasswordHasher(time_cost=2, memory_cost=512, parallelism=2, type=argon2.Type.I)
out.append(("argon2" + ph_i.hash(PW), "argon2 (argon2i, Django < 3.2)"))

hexed = hashlib.sha256(PW).hexdigest().encode()
out.append(("bcrypt_sha256$" + bcrypt.hashpw(hexed, bcrypt.gensalt(4)).decode(), "bcrypt_sha256"))
out.append(("bcrypt$" + bcrypt.hashpw(PW, bcrypt.gensalt(4)).decode(), "bcrypt"))

n, r, p = 2 ** 10, 8, 1
dk = hashlib.scrypt(PW, salt=SALT.encode(), n=n, r=r, p=p, maxmem=0, dklen=64)
out.append((f"scrypt${SALT}${n}${r}${p}${base64.b64encode(dk).decode()}", "scrypt"))

out.append((f"sha1${SALT}${hashlib.sha1(SALT.encode() + PW).hexdigest()}", "sha1"))
out.append((f"md5${SALT}${hashlib.md5(SALT.encode() + PW).hexdigest()}", "md5"))
out.append((f"unsalted_sha1$${hashlib.sha1(PW).hexdigest()}", "unsalted_sha1"))
out.append((hashlib.md5(PW).hexdigest(), "unsalted_md5"))
out.append((f"md5$${hashlib.md5(PW).hexdigest()}", "unsalted_md5 (long form)"))

print("[")
for encoded, name in out:
    print(f'    ("{encoded}", "{name}"),')
print("]")
