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

{{/* The namespace of every namespaced object (a DNS-1123 label, as values.schema.json checks). */}}
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

{{/*
The operator's defaults for the scheduler namespace and the node store (wasmgate run
--scheduler-namespace, --node-store; operator/wasmgate/rollout/settings.py): the chart passes a
flag only for another value, so the default render stays exactly deploy/'s.
*/}}
{{- define "wasmgate.defaultNamespace" -}}
wasmgate-system
{{- end }}
{{- define "wasmgate.defaultStorePath" -}}
/var/lib/wasmgate/store
{{- end }}

{{- define "wasmgate.certManager" -}}
{{- if eq .Values.webhook.certificates "certManager" }}true{{ end }}
{{- end }}

{{/*
Values the schema cannot judge fail the render with the reason and the fix, instead of installing
an operator that cannot start (`wasmgate run --node-store` refuses the same value).
*/}}
{{- define "wasmgate.checkValues" -}}
{{- if eq (clean .Values.agent.storePath) "/" }}
{{- fail (printf "agent.storePath: %q is the node's root directory; give the store a directory of its own, e.g. /var/lib/wasmgate/store" .Values.agent.storePath) }}
{{- end }}
{{- if and (eq .Values.webhook.certificates "selfManaged") .Values.webhook.certManager.issuerRef }}
{{- fail "webhook.certManager.issuerRef is set but webhook.certificates is selfManaged; set webhook.certificates=certManager to use it, or drop issuerRef" }}
{{- end }}
{{- end }}
