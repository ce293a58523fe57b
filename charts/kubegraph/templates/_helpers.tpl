{{/* Names and labels. */}}
{{- define "kubegraph.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubegraph.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "name" "gateway"). */}}
{{- define "kubegraph.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The subgraphs, in the gateway's order (gateway/subgraphs.ts). */}}
{{- define "kubegraph.subgraphs" -}}
accounts workloads monitoring logging apps
{{- end -}}

{{- define "kubegraph.serviceName" -}}
{{- printf "%s-%s" (include "kubegraph.fullname" .root) .name -}}
{{- end -}}

{{- define "kubegraph.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubegraph.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The apps subgraph's own service account when it holds helm's rights (apps.helmRbac), else the shared one. */}}
{{- define "kubegraph.appsServiceAccountName" -}}
{{- if .Values.apps.helmRbac.enabled -}}
{{- printf "%s-apps" (include "kubegraph.serviceAccountName" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "kubegraph.serviceAccountName" . -}}
{{- end -}}
{{- end -}}

{{- define "kubegraph.authSecret" -}}
{{- default (printf "%s-auth" (include "kubegraph.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "kubegraph.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A secret value as an env entry: (dict "name" VAR "secret" NAME "key" KEY). */}}
{{- define "kubegraph.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}
