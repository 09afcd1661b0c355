"""Prepares a practice for the example clients, through the API as its admin would.

    examples_setup.py staff  URL ADMIN_EMAIL PASSWORD   -> prints a service token (clients:import)
    examples_setup.py mother URL ADMIN_EMAIL PASSWORD   -> invites the imported Ana Lima and
                                                           prints her email and password
Standard library only.
"""
import json
import sys
import urllib.request


def call(base, method, path, token=None, body=None):
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def login(base, email, password):
    return call(base, "POST", "/v1/auth/login", body={"email": email, "password": password})["access_token"]


def accept(base, invitation_token, password):
    call(base, "POST", "/v1/auth/invitations/accept", body={"token": invitation_token, "password": password})


def main(step, base, admin_email, password):
    admin = login(base, admin_email, password)
    if step == "staff":
        coach = call(base, "POST", "/v1/coaches", admin, {"name": "Maya Okafor", "email": "maya@riverside.example"})
        accept(base, coach["invitation"]["token"], password)
        token = call(base, "POST", "/v1/service-tokens", admin, {"name": "Examples import", "scopes": ["clients:import"]})
        print(token["token"])
    elif step == "mother":
        page = call(base, "GET", "/v1/clients?q=Ana%20Lima", admin)
        ana = page["items"][0]
        invitation = call(base, "POST", f"/v1/clients/{ana['id']}/invitation", admin)
        accept(base, invitation["token"], password)
        print("ana.lima@example.org")
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
