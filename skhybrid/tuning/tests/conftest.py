"""A throw-away PostgreSQL server on loopback for the distributed-tuning tests."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from skhybrid.utils._testing import running_in_ci


def _postgres_bin():
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"):
        for directory in sorted(glob.glob(pattern), reverse=True):
            if os.path.exists(os.path.join(directory, "postgres")):
                return directory
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """``postgresql+psycopg2://postgres@127.0.0.1:<port>/skhybrid`` on a fresh cluster, stopped afterwards."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if running_in_ci():
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql package.")
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    pytest.importorskip("psycopg2")
    root = tempfile.mkdtemp(prefix="skhybrid-pg-")
    os.chmod(root, 0o755)
    data, sockets = os.path.join(root, "data"), os.path.join(root, "run")
    os.makedirs(sockets)
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, text=True)

    run(f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
    run(f"{bin_dir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "start", "-o",
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1")
    try:
        run(f"{bin_dir}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c",
            "CREATE DATABASE skhybrid")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/skhybrid"
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
