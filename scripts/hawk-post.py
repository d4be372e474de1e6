#!/usr/bin/env python3
"""POSTs a JSON body signed with Hawk, as Taskcluster's clients sign it: hawk-post.py URL CLIENT_ID ACCESS_TOKEN BODY.

Prints the answer's body; exits non-zero on an HTTP error. Used by the `make run` smoke test to fire a hook."""
import base64
import hashlib
import hmac
import os
import sys
import time
import urllib.request
from urllib.parse import urlparse

url, client_id, access_token, body = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode()
u = urlparse(url)
ts, nonce, ctype = str(int(time.time())), base64.b64encode(os.urandom(6)).decode(), "application/json"
phash = base64.b64encode(hashlib.sha256(b"hawk.1.payload\n" + ctype.encode() + b"\n" + body + b"\n").digest()).decode()
normalized = f"hawk.1.header\n{ts}\n{nonce}\nPOST\n{u.path}\n{u.hostname}\n{u.port}\n{phash}\n\n"
mac = base64.b64encode(hmac.new(access_token.encode(), normalized.encode(), hashlib.sha256).digest()).decode()
auth = f'Hawk id="{client_id}", ts="{ts}", nonce="{nonce}", hash="{phash}", mac="{mac}"'
req = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": auth, "Content-Type": ctype})
with urllib.request.urlopen(req, timeout=30) as answer:
    print(answer.read().decode())
