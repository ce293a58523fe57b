-- Fluent Bit Lua filter (deploy/compose/fluent-bit.yaml): the `kubernetes` object KubeSphere's documents carry, from
-- the log file's name as the kubelet writes it: /var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log.
-- Pod and namespace names hold no "_" (DNS-1123), so the first two "_" split them off.
local node_name = os.getenv("NODE_NAME") or ""

function kubernetes_from_path(tag, timestamp, record)
  local path = record["filepath"]
  if path == nil then
    return 0, timestamp, record
  end
  local file = string.match(path, "([^/]+)$")
  local pod, namespace, container, id = string.match(file, "^([^_]+)_([^_]+)_(.+)%-(%x+)%.log$")
  if pod == nil then
    return 0, timestamp, record
  end
  record["kubernetes"] = {
    pod_name = pod,
    namespace_name = namespace,
    container_name = container,
    docker_id = id,
    host = node_name,
  }
  if record["time"] == nil then
    local seconds = math.floor(timestamp)
    local nanos = math.floor((timestamp - seconds) * 1e9)
    record["time"] = os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%09dZ", nanos)
  end
  record["filepath"] = nil
  record["_p"] = nil
  return 1, timestamp, record
end
