"""Drives accountd with the official `unicat` Python SDK, unchanged.

Usage: python3 unicat_sdk_compat.py BASE_URL USERNAME PASSWORD
Exits 0 when every check holds; prints the failed check otherwise.
"""

import sys

from unicat.api import UnicatApi

NO_PROJECT = "00000000-0000-0000-0000-000000000000"


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}")
        sys.exit(1)


def main():
    base, username, password = sys.argv[1:4]
    api = UnicatApi(base, NO_PROJECT)

    # A wrong password: 403, no token kept.
    ok, result = api.call("//login", {"username": username, "password": "wrong " + password})
    check(not ok and result["code"] == 403 and result["message"] == "Unknown user", f"403 on a wrong password: {result}")
    check(api._auth_header is None, "no token after a failed login")

    # Login: the SDK keeps the Authorization header verbatim as its token.
    ok, result = api.call("//login", {"username": username, "password": password})
    check(ok, f"login succeeds: {result}")
    user_gid = result["user"]
    check(result["user_projects"] == {}, "user_projects is an object")
    check(api.cc_version != "", "cc.version was read")
    header = api._auth_header and api._auth_header["Authorization"]
    check(header and header.startswith("Bearer ey") and header.count(".") == 2, f"a raw JWT was stored: {header!r}")
    check(api.data["cc.users"][user_gid]["username"] == username, "cc.users holds the caller")
    check(api.data["cc.languages"].get("en") == "English", "cc.languages maps codes to names")

    # init with the stored token: a fresh token replaces it.
    first = api._auth_header["Authorization"]
    ok, result = api.call("//init", method="get")
    check(ok and result["user"] == user_gid, f"init succeeds with the stored token: {result}")
    check(api._auth_header is not None, "a token is still held after init")

    # users/get of oneself: the complete form lands in the SDK's cc.users
    # cache, and a fresh token replaces the stored one.
    before = api._auth_header["Authorization"]
    ok, result = api.call("//users/get", {"user": user_gid})
    check(ok and result == {"user": user_gid}, f"users/get succeeds: {result}")
    me = api.data["cc.users"][user_gid]
    check(me["username"] == username and me["email"] and "options" in me, f"the complete form is cached: {me}")
    check(api._auth_header is not None and api._auth_header["Authorization"].startswith("Bearer ey"), "a token is held after users/get")
    # An unknown gid: 422, and the SDK keeps its token.
    ok, result = api.call("//users/get", {"user": NO_PROJECT})
    check(not ok and result["code"] == 422 and result["info"] == {}, f"422 for an unknown user: {result}")
    check(api._auth_header is not None, "the token survives a 422")

    # A project of one's own: //projects/get and //members/get, as the
    # SDK's sync fetches them, land in its caches (cc.projects_members keyed
    # by "project_gid/user_gid").
    ok, result = api.call("//projects/create", {"name": "SDK project"})
    check(ok and "project" in result, f"projects/create succeeds: {result}")
    project_gid = result["project"]
    api.data["cc.projects"].clear()
    api.data["cc.projects_members"].clear()
    check(api._fetch_syncdataitem({"data_type": "cc.projects", "data_key": project_gid}), "//projects/get succeeds")
    check(api.data["cc.projects"][project_gid]["name"] == "SDK project", f"the project is cached: {api.data['cc.projects']}")
    row_key = f"{project_gid}/{user_gid}"
    check(api.data["cc.projects_members"][row_key]["roles"] == ["owner"], f"the owner row is cached: {api.data['cc.projects_members']}")
    api.data["cc.projects_members"].clear()
    key = {"data_type": "cc.projects_members", "data_key": row_key}
    check(api._fetch_syncdataitem(key), "//members/get succeeds")
    row = api.data["cc.projects_members"][row_key]
    check(row["status"] == "active" and row["options"]["notifications"]["email"], f"the row is cached: {row}")
    check(api.data["cc.users"][user_gid]["email"], "the caller stays in the complete form")
    ok, result = api.call("//members/get", {"project": project_gid, "member": NO_PROJECT})
    check(not ok and result["code"] == 422, f"422 for a row that does not exist: {result}")
    ok, result = api.call("//members/get", {"project": NO_PROJECT, "member": user_gid})
    check(not ok and result["code"] == 403, f"403 for an unknown project: {result}")

    # A token the server refuses: 401 with WWW-Authenticate, and the SDK drops it.
    api.update_jwt("not-a-jwt")
    ok, result = api.call("//init", method="get")
    check(not ok and result["code"] == 401, f"401 for a bad token: {result}")
    check(api._auth_header is None, "the SDK dropped its token on WWW-Authenticate")

    # An unknown route: the error envelope with data present.
    ok, result = api.call("//no_such_route")
    check(not ok and result["code"] == 404, f"404 envelope for an unknown route: {result}")
    print(f"ok: login, init, users/get, projects/get, members/get, token renewal and token drop work with the unicat SDK")


if __name__ == "__main__":
    main()
