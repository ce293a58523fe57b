#!/bin/sh
# docker-compose.yml's `kubeconfig` job: k3s writes a kubeconfig for https://127.0.0.1:6443 (itself); the other
# containers reach it as https://k3s:6443 (k3s is started with --tls-san=k3s). Writes into the shared `kube` volume:
#   config                   the kubeconfig the kubegraph services read (KUBECONFIG=/kube/config; uid 1000)
#   ca.crt client.crt client.key   the same credentials as files, for Prometheus's scrape of the cluster (uid 65534)
set -eu
src=/output/kubeconfig.yaml
i=0
while [ ! -s "$src" ]; do
  i=$((i + 1))
  [ "$i" -gt 120 ] && { echo "no kubeconfig from k3s at $src" >&2; exit 1; }
  sleep 1
done
umask 077
sed 's#https://127.0.0.1:6443#https://k3s:6443#' "$src" > /kube/config
field() { sed -n "s/^ *$1: *//p" "$src" | head -n 1 | base64 -d; }
field certificate-authority-data > /kube/ca.crt
field client-certificate-data > /kube/client.crt
field client-key-data > /kube/client.key
chown 1000:1000 /kube/config
chown 65534:65534 /kube/ca.crt /kube/client.crt /kube/client.key
chmod 0400 /kube/config /kube/client.key
chmod 0444 /kube/ca.crt /kube/client.crt
echo "kubeconfig for https://k3s:6443 written to /kube"
