{{/*
Labels Helm charts conventionally carry, added to every object next to the labels deploy/ gives
it (tests/deploy/test_helm_chart.py strips exactly these four before comparing with kustomize).
Selectors never carry them: a selector is immutable, and must stay the one deploy/ uses.
*/}}
{{- define "wasmgate.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* The namespace of every namespaced object, checked by "wasmgate.checkValues". */}}
{{- define "wasmgate.namespace" -}}
{{ .Values.namespace }}
{{- end }}

{{/* The wasmgate image reference: by digest when one is given. */}}
{{- define "wasmgate.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* image: and, when set, imagePullPolicy: of a container. */}}
{{- define "wasmgate.imageFields" -}}
image: {{ include "wasmgate.image" . }}
{{- with .Values.image.pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{- define "wasmgate.certManager" -}}
{{- if eq .Values.webhook.certificates "certManager" }}true{{ end }}
{{- end }}

{{/*
Values the operator cannot follow yet fail the render with the reason and the fix, instead of
installing an operator that cannot roll out (operator/wasmgate/rollout/settings.py has the
namespace and the store path as constants, and `wasmgate run` no flag for either).
*/}}
{{- define "wasmgate.checkValues" -}}
{{- if ne .Values.namespace "wasmgate-system" }}
{{- fail (printf "namespace: %q is not supported yet: the operator puts scheduler Deployments, ConfigMaps and leases in wasmgate-system and has no flag to move them; leave namespace at wasmgate-system" .Values.namespace) }}
{{- end }}
{{- if ne (clean .Values.agent.storePath) "/var/lib/wasmgate/store" }}
{{- fail (printf "agent.storePath: %q is not supported yet: scheduler pods mount /var/lib/wasmgate/store (the operator has no flag for it) and the admission policy allows only that hostPath; leave agent.storePath at /var/lib/wasmgate/store" .Values.agent.storePath) }}
{{- end }}
{{- if and (eq .Values.webhook.certificates "selfManaged") .Values.webhook.certManager.issuerRef }}
{{- fail "webhook.certManager.issuerRef is set but webhook.certificates is selfManaged; set webhook.certificates=certManager to use it, or drop issuerRef" }}
{{- end }}
{{- end }}
