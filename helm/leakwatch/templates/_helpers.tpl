{{/* The chart's name, or nameOverride. */}}
{{- define "leakwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: fullnameOverride, or <release>-<name>
(just <release> when it already holds the name). */}}
{{- define "leakwatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The recommended labels plus commonLabels, as a YAML map. */}}
{{- define "leakwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "leakwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: leakwatch
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* An object's labels: the chart's labels merged with the part's own
(which win on a shared key). Call with (dict "ctx" $ "extra" LABELS). */}}
{{- define "leakwatch.objectLabels" -}}
{{- $labels := include "leakwatch.labels" .ctx | fromYaml }}
{{- toYaml (merge (deepCopy (.extra | default dict)) $labels) }}
{{- end }}

{{/* The ServiceMonitor's or PodMonitor's endpoint settings shared by both.
Call with the part's values. */}}
{{- define "leakwatch.endpoint" -}}
path: {{ .path }}
scheme: {{ .scheme }}
interval: {{ .interval }}
scrapeTimeout: {{ .scrapeTimeout }}
{{- if .honorLabels }}
honorLabels: true
{{- end }}
{{- with .relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The labels that select leakwatch-judge's pods (Deployment, Service,
ServiceMonitor): stable across upgrades, so never the chart version. */}}
{{- define "leakwatch.judgeSelectorLabels" -}}
app.kubernetes.io/name: {{ include "leakwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: judge
{{- end }}

{{/* The name of leakwatch-judge's Deployment, Service and ServiceMonitor. */}}
{{- define "leakwatch.judgeName" -}}
{{- printf "%s-judge" (include "leakwatch.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}
