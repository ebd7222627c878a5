{{/* Base name of every object: RELEASE-cinemaabyss (or the release name if it already contains the chart name). */}}
{{- define "cinemaabyss.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cinemaabyss.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one process: (dict "root" $ "name" "proxy") */}}
{{- define "cinemaabyss.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "cinemaabyss.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "cinemaabyss.secretName" -}}
{{- default (include "cinemaabyss.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* In-cluster base URL of one HTTP process: (dict "root" $ "name" "movies") */}}
{{- define "cinemaabyss.serviceUrl" -}}
{{- $p := index .root.Values.processes .name -}}
{{- printf "http://%s-%s:%v" (include "cinemaabyss.fullname" .root) .name $p.port -}}
{{- end -}}

{{/* Public URL of the proxy / console: the Ingress host when enabled, else the Service. */}}
{{- define "cinemaabyss.publicUrl" -}}
{{- $ing := index .root.Values.ingress .name -}}
{{- if .root.Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .root.Values.ingress.tls) 0)) $ing.host -}}
{{- else -}}
{{- include "cinemaabyss.serviceUrl" . -}}
{{- end -}}
{{- end -}}

{{/* The pod-level settings shared by every workload (Deployments and the migration Job). */}}
{{- define "cinemaabyss.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container env: ConfigMap + Secret (minus the key files) — (dict "root" $ "process" $p) */}}
{{- define "cinemaabyss.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "cinemaabyss.fullname" .root }}
env:
  {{- range $key := list "DATABASE_URL" "REDIS_URL" "SECRET_KEY" "CONSOLE_ADMIN_PASSWORD" "IDENTITY_SECRET" }}
  - name: {{ $key }}
    valueFrom:
      secretKeyRef:
        name: {{ include "cinemaabyss.secretName" $.root }}
        key: {{ $key }}
  {{- end }}
  {{- /* provider keys exist only when set (secrets.stripe*, secrets.yookassa*) */}}
  {{- range $key := list "STRIPE_API_KEY" "STRIPE_WEBHOOK_SECRET" "YOOKASSA_SECRET_KEY" }}
  - name: {{ $key }}
    valueFrom:
      secretKeyRef:
        name: {{ include "cinemaabyss.secretName" $.root }}
        key: {{ $key }}
        optional: true
  {{- end }}
{{- end -}}
