"""Start and stop a throwaway local Redis Cluster (3 primaries, loopback only) for the tests.

``start_cluster(3, replicas=1)`` gives every primary a replica (6 nodes), for the failover of
the fault suite (tests/faults/test_fault_suite.py). Each node is a
``redis-server --cluster-enabled yes`` in its own temporary directory, without
persistence; ``redis-cli --cluster create`` assigns the slots. Only the processes started here
are stopped (by their own handles), and the directories are removed.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

import redis

from tests.support.redis_server import RedisServer, start_redis_server

__all__ = [
    "LocalCluster",
    "cluster_node_role",
    "cluster_port",
    "primary_of_slot",
    "replica_of",
    "start_cluster",
]


@dataclass
class LocalCluster:
    nodes: list[RedisServer] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def url(self, scheme: str = "redis+cluster") -> str:
        """``redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...``: every node as a startup node."""
        return f"{scheme}://" + ",".join(f"{node.host}:{node.port}" for node in self.nodes)

    def clients(self) -> list[redis.Redis]:
        """A plain client per node (for checks that must look at one node)."""
        return [node.client() for node in self.nodes]

    def flushall(self) -> None:
        for client in self.clients():
            try:
                client.flushall()
            finally:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port(taken: set[int] | None = None) -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too; cluster
    nodes refuse ports above 55535."""
    taken = taken or set()
    for _ in range(200):
        port = random.randint(20000, 45000)
        if port in taken or port + 10000 in taken:
            continue
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _cluster_ok(node: RedisServer) -> bool:
    client = node.client()
    try:
        info = client.execute_command("CLUSTER INFO")
    except redis.RedisError:
        return False
    finally:
        client.close()
    if isinstance(info, dict):  # redis-py parses CLUSTER INFO into a dict
        state = info.get("cluster_state")
        return (state.decode() if isinstance(state, bytes) else state) == "ok"
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


def start_cluster(
    primaries: int = 3, timeout: float = 20.0, *, replicas: int = 0, node_timeout_ms: int = 2000
) -> LocalCluster:
    """Start ``primaries`` cluster nodes (and ``replicas`` replicas of each), create the
    cluster, wait for ``cluster_state:ok`` on every node and, with replicas, for every
    replica to be in sync (at most ``timeout`` seconds each). ``node_timeout_ms`` is the
    cluster node timeout: how long a primary may be unreachable before its replica takes
    over. Raises RuntimeError (after stopping what it started) when the cluster does not
    form."""
    cli = shutil.which("redis-cli")
    if cli is None:
        raise FileNotFoundError("redis-cli is not on PATH")
    cluster = LocalCluster()
    try:
        for _ in range(primaries * (1 + replicas)):
            port = cluster_port({p for n in cluster.nodes for p in (n.port, n.port + 10000)})
            node = start_redis_server(
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", str(node_timeout_ms),
                port=port,
            )  # fmt: skip
            cluster.nodes.append(node)
        addresses = [f"{node.host}:{node.port}" for node in cluster.nodes]
        created = subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(
                "redis-cli --cluster create failed: "
                + created.stdout.decode()[-1500:]
                + created.stderr.decode()[-1500:]
            )
        deadline = time.monotonic() + timeout
        while not all(_cluster_ok(node) for node in cluster.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster not ok within {timeout} s")
            time.sleep(0.05)
        if replicas:
            deadline = time.monotonic() + timeout
            while not all(
                _replica_synced(node)
                for node in cluster.nodes
                if cluster_node_role(node) == "slave"
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster replicas not in sync within {timeout} s")
                time.sleep(0.05)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def cluster_node_role(node: RedisServer) -> str:
    """``"master"`` or ``"slave"`` (the node's ROLE); ``"down"`` when it does not answer."""
    client = node.client()
    try:
        role = client.execute_command("ROLE")[0]
    except redis.RedisError:
        return "down"
    finally:
        client.close()
    return role.decode() if isinstance(role, bytes) else str(role)


def _replica_synced(node: RedisServer) -> bool:
    client = node.client()
    try:
        return client.info("replication").get("master_link_status") == "up"
    except redis.RedisError:
        return False
    finally:
        client.close()


def replica_of(cluster: LocalCluster, primary: RedisServer) -> RedisServer:
    """The node replicating ``primary`` (its ``INFO replication`` names the primary's port)."""
    for node in cluster.nodes:
        if node is primary:
            continue
        client = node.client()
        try:
            info = client.info("replication")
        finally:
            client.close()
        if info.get("role") == "slave" and int(info.get("master_port", 0)) == primary.port:
            return node
    raise LookupError(f"no replica of 127.0.0.1:{primary.port} in the cluster")


def primary_of_slot(cluster: LocalCluster, slot: int) -> RedisServer:
    """The primary serving hash ``slot`` (from ``CLUSTER NODES`` of a node that answers)."""
    by_port = {node.port: node for node in cluster.nodes}
    for node in cluster.nodes:
        client = node.client()
        try:
            text = client.execute_command("CLUSTER NODES")
        except redis.RedisError:
            continue
        finally:
            client.close()
        if not isinstance(text, (str, bytes)):  # parsed by redis-py: {address: {...}}
            for address, info in text.items():
                for start, *end in info.get("slots", []):
                    if int(start) <= slot <= int(end[0] if end else start) and "master" in info.get(
                        "flags", ""
                    ):
                        return by_port[int(str(address).split(":")[1].split("@")[0])]
            continue
        for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
            parts = line.split()
            if len(parts) < 9 or "master" not in parts[2]:
                continue
            for span in parts[8:]:
                if span.startswith("["):
                    continue
                start, _, end = span.partition("-")
                if int(start) <= slot <= int(end or start):
                    return by_port[int(parts[1].split("@")[0].split(":")[1])]
    raise LookupError(f"no primary serves slot {slot}")
