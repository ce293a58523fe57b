# Drives the official Python `kubernetes` client against a cluster (the sandbox in tests) and prints, as one JSON
# document, what it saw: list, create, patch, watch (watch=True, resumed from a list's resourceVersion) and logs.
# Usage: /usr/bin/python3 python-client.py <kubeconfig> <namespace> <pod-with-logs>
import json
import sys
import time

from kubernetes import client, config, watch

kubeconfig, namespace, log_pod = sys.argv[1], sys.argv[2], sys.argv[3]
config.load_kube_config(config_file=kubeconfig)
core = client.CoreV1Api()
out = {}

core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
created = core.create_namespaced_config_map(
    namespace,
    client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "py"}), data={"colour": "blue"}),
)
out["created"] = {"name": created.metadata.name, "uid": created.metadata.uid, "data": created.data}

patched = core.patch_namespaced_config_map("settings", namespace, {"data": {"size": "large"}})
out["patched"] = {"data": patched.data, "resourceVersion": patched.metadata.resource_version}

listed = core.list_namespaced_config_map(namespace, label_selector="app=py")
out["listed"] = [cm.metadata.name for cm in listed.items]
list_rv = listed.metadata.resource_version
out["listKind"] = type(listed).__name__

# Changes made after the list: a watch resumed from the list's resourceVersion must deliver each of them, in order.
for i in range(3):
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"later-{i}", labels={"app": "py"}))
    )
core.delete_namespaced_config_map("later-0", namespace)

events = []
w = watch.Watch()
for ev in w.stream(
    core.list_namespaced_config_map,
    namespace,
    label_selector="app=py",
    resource_version=list_rv,
    timeout_seconds=20,
):
    events.append([ev["type"], ev["object"].metadata.name])
    if len(events) == 4:
        w.stop()
out["watched"] = events

core.create_namespaced_pod(
    namespace,
    client.V1Pod(
        metadata=client.V1ObjectMeta(name=log_pod),
        spec=client.V1PodSpec(
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="main", image="busybox:1.36", command=["sh", "-c", "echo python says hi; echo second line"]
                )
            ],
        ),
    ),
)
deadline = time.time() + 30
while True:
    pod = core.read_namespaced_pod(log_pod, namespace)
    if pod.status.phase in ("Running", "Succeeded", "Failed") or time.time() > deadline:
        break
    time.sleep(0.2)
out["podPhase"] = pod.status.phase
out["log"] = core.read_namespaced_pod_log(log_pod, namespace)

print(json.dumps(out))
