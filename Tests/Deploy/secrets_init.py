"""deploy/secrets/init-secrets.sh, the Compose `secrets` container's script, run as a process (no
Docker engine is needed to run a shell script): each container's share holds only its own keys,
every file is private, the admin password is printed once when generated and never again (nor
ever when .env chose it), and a second start keeps the same values.
Prints 'secrets: N passed, N failed'.
Usage: python3 Tests/Deploy/secrets_init.py --binary .build/debug/careforall
"""

import argparse
import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Security"))
from lib import Steps  # noqa: E402

from check_configs import SECRETS_OF  # noqa: E402


def run(binary, directory, extra_env=None):
    env = {"PATH": os.path.dirname(os.path.abspath(binary)) + ":/usr/bin:/bin", "SECRETS_DIR": directory, "ADMIN_EMAIL": "root@example.org"}
    env.update(extra_env or {})
    answer = subprocess.run(["sh", "deploy/secrets/init-secrets.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout + answer.stderr


def share_keys(path):
    """The variables a service gets by sourcing its share, as its entrypoint does (no .env overrides)."""
    answer = subprocess.run(["sh", "-c", 'set -a; . "$1"; set +a; env -0', "sh", path], env={"PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, check=True)
    keys = {}
    for entry in answer.stdout.split("\0"):
        name, _, value = entry.partition("=")
        if name and name.isupper() and name not in ("PATH", "PWD", "SHLVL", "OLDPWD") and not name.startswith("_"):
            keys[name] = value
    return keys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    steps = Steps("secrets")
    state = {}

    with tempfile.TemporaryDirectory() as directory:
        def first_start():
            state["first"] = run(args.binary, directory)
            lines = [line for line in state["first"].split("\n") if line.startswith("admin:")]
            assert len(lines) == 1 and "(shown once)" in lines[0], state["first"]
            state["password"] = lines[0].split(" / ")[1].split()[0]

        def shares_are_scoped():
            wrong = []
            for role in ["user", "campaign", "pledge", "payment"]:
                keys = set(share_keys(os.path.join(directory, role, "service.env")))
                if keys != SECRETS_OF[role]:
                    wrong.append("%s: %s" % (role, sorted(keys ^ SECRETS_OF[role])))
            user = share_keys(os.path.join(directory, "user", "service.env"))
            assert user["ADMIN_PASSWORD"] == state["password"], "the printed password is the one user-service gets"
            assert user["DATABASE_URL"].startswith("postgres://user_service:"), user["DATABASE_URL"]
            assert not wrong, wrong

        def files_private():
            loose = []
            for root, folders, files in os.walk(directory):
                for name in folders:
                    mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                    if mode & 0o077:
                        loose.append("%s/ %o" % (name, mode))
                for name in files:
                    mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                    if mode & 0o077:
                        loose.append("%s %o" % (os.path.join(root, name)[len(directory):], mode))
            assert not loose, loose

        def second_start_quiet_and_stable():
            before = {role: share_keys(os.path.join(directory, role, "service.env")) for role in ["user", "campaign", "pledge", "payment"]}
            output = run(args.binary, directory)
            assert state["password"] not in output and "admin:" not in output, output
            after = {role: share_keys(os.path.join(directory, role, "service.env")) for role in ["user", "campaign", "pledge", "payment"]}
            assert before == after, "a restart changed a secret"

        def chosen_password_never_printed():
            with tempfile.TemporaryDirectory() as other:
                output = run(args.binary, other, {"ADMIN_PASSWORD": "chosen-in-dot-env"})
                assert "chosen-in-dot-env" not in output and "admin:" not in output, output

        steps.run("the first start makes the secrets and prints the generated admin password once", first_start)
        steps.run("each service's share holds exactly the secrets it needs", shares_are_scoped)
        steps.run("every secret file and folder is private to its owner", files_private)
        steps.run("a second start prints no password and keeps every secret", second_start_quiet_and_stable)
        steps.run("a password chosen in .env is never printed", chosen_password_never_printed)
    steps.finish()


if __name__ == "__main__":
    main()
