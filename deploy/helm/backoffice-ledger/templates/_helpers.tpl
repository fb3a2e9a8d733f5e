{{/*
Names, labels and the role merge. Bitnami-style helpers, kept in this chart (no dependency on
bitnami/common, so the chart renders offline).
*/}}

{{/* The roles the chart knows, in a fixed order (the order of the rendered documents). */}}
{{- define "ledger.roleNames" -}}
api projector ingestion fraud reconciliation notifications vop
{{- end -}}

{{/* Chart name, 63 characters at most. */}}
{{- define "ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "ledger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one role's resources: <fullname>-<role>. Usage: include "ledger.roleFullname" (list $ "api") */}}
{{- define "ledger.roleFullname" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "ledger.fullname" $root | trunc 48 | trimSuffix "-") (index . 1) -}}
{{- end -}}

{{- define "ledger.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every resource. */}}
{{- define "ledger.labels" -}}
helm.sh/chart: {{ include "ledger.chart" . }}
{{ include "ledger.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: backoffice-ledger
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels that select every pod of the release (the deny-by-default policy uses them). */}}
{{- define "ledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels that select one role's pods. Usage: include "ledger.roleSelectorLabels" (list $ "api") */}}
{{- define "ledger.roleSelectorLabels" -}}
{{ include "ledger.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "ledger.roleLabels" -}}
{{ include "ledger.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* commonAnnotations, rendered as a metadata.annotations block or nothing. */}}
{{- define "ledger.annotations" -}}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The effective values of one role: roles.<role> merged over roleDefaults (the role wins).
Returns YAML; use with fromYaml. Usage: include "ledger.role" (list $ "api") | fromYaml
*/}}
{{- define "ledger.role" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $own := index $root.Values.roles $name | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy $root.Values.roleDefaults) (deepCopy $own)) -}}
{{- end -}}

{{/* Name of the ServiceAccount the pods run as. */}}
{{- define "ledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ledger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount's annotations (IRSA role first), as a map in YAML. */}}
{{- define "ledger.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy .Values.serviceAccount.annotations -}}
{{- if .Values.serviceAccount.irsaRoleArn -}}
{{- $_ := set $annotations "eks.amazonaws.com/role-arn" .Values.serviceAccount.irsaRoleArn -}}
{{- end -}}
{{- $annotations = mergeOverwrite $annotations (deepCopy .Values.commonAnnotations) -}}
{{- if $annotations -}}
{{- toYaml $annotations -}}
{{- end -}}
{{- end -}}

{{/* The image reference: registry/repository:tag or @digest. */}}
{{- define "ledger.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $repository := .Values.image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" $registry $repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "ledger.imagePullSecrets" -}}
{{- range .Values.global.imagePullSecrets }}
- name: {{ . }}
{{- end }}
{{- end -}}

{{/* Checks the schema cannot express. Usage: include "ledger.validateRole" (list $role "api") */}}
{{- define "ledger.validateRole" -}}
{{- $role := index . 0 -}}
{{- $name := index . 1 -}}
{{- if gt (int $role.autoscaling.minReplicas) (int $role.autoscaling.maxReplicas) -}}
{{- fail (printf "roles.%s.autoscaling: minReplicas (%v) is greater than maxReplicas (%v)" $name $role.autoscaling.minReplicas $role.autoscaling.maxReplicas) -}}
{{- end -}}
{{- if and $role.pdb.enabled (not $role.autoscaling.enabled) (kindIs "float64" $role.pdb.maxUnavailable) (eq (int $role.pdb.maxUnavailable) 0) -}}
{{- fail (printf "roles.%s.pdb.maxUnavailable is 0: nodes running the role could never be drained" $name) -}}
{{- end -}}
{{- end -}}

{{/*
Authentication checks, in the words of the ledger's own refusal (api/runtime/settings/auth.py): with
LEDGER_ENV=production it does not start without an issuer and an https JWKS. values.schema.json
says the same; this also holds under --skip-schema-validation. And a ServiceMonitor that can only
collect 401s is refused.
*/}}
{{- define "ledger.validateAuth" -}}
{{- $auth := .Values.config.auth | default dict -}}
{{- if eq (toString .Values.config.env) "production" -}}
{{- if not $auth.issuer -}}
{{- fail "config.auth.issuer is empty: with config.env=production the ledger refuses to start without LEDGER_AUTH_ISSUER (the identity provider's issuer, as in Envoy's jwt_authn provider)" -}}
{{- end -}}
{{- if not $auth.jwksUrl -}}
{{- fail "config.auth.jwksUrl is empty: with config.env=production the ledger refuses to start without LEDGER_AUTH_JWKS_URL (the identity provider's JWKS, https)" -}}
{{- end -}}
{{- if not (hasPrefix "https://" (toString $auth.jwksUrl)) -}}
{{- fail (printf "config.auth.jwksUrl must be an https URL with config.env=production, got %q" (toString $auth.jwksUrl)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.config.metricsPublic) -}}
{{- $secret := .Values.metrics.serviceMonitor.bearerTokenSecret | default dict -}}
{{- if not $secret.name -}}
{{- fail "config.metricsPublic is false and metrics.serviceMonitor is enabled: /metrics then needs a bearer token with the role monitoring; set metrics.serviceMonitor.bearerTokenSecret.name (and .key) to the Secret holding Prometheus's token" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The non-secret configuration, as a map (ConfigMap data and the migration Job's env). */}}
{{- define "ledger.configData" -}}
LEDGER_ENV: {{ .Values.config.env | quote }}
LEDGER_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
LEDGER_HOST: "0.0.0.0"
LEDGER_PORT: "8000"
LEDGER_DATA_DIR: {{ .Values.config.dataDir | quote }}
{{- with .Values.config.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.config.auth }}
{{- with .issuer }}
LEDGER_AUTH_ISSUER: {{ . | quote }}
{{- end }}
LEDGER_AUTH_AUDIENCE: {{ .audience | quote }}
{{- with .jwksUrl }}
LEDGER_AUTH_JWKS_URL: {{ . | quote }}
{{- end }}
LEDGER_AUTH_ALGORITHMS: {{ join "," .algorithms | quote }}
LEDGER_AUTH_LEEWAY_SECONDS: {{ .leewaySeconds | toString | quote }}
{{- with .maxTokenLifetimeMinutes }}
LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES: {{ . | toString | quote }}
{{- end }}
{{- end }}
LEDGER_METRICS_PUBLIC: {{ .Values.config.metricsPublic | toString | quote }}
{{- range $key, $value := .Values.config.extra }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Environment variables taken from the existing Secret. */}}
{{- define "ledger.secretEnv" -}}
- name: LEDGER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.databaseUrlKey }}
- name: LEDGER_STOMP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: {{ .Values.secrets.stompUrlKey }}
      optional: true
{{- range $env, $key := .Values.secrets.extraKeys }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/* Writable scratch volumes: the root filesystem is read-only. */}}
{{- define "ledger.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: data
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "ledger.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .Values.config.dataDir }}
{{- end -}}

{{/*
Name of the ConfigMap the chart makes from database.caBundle.pem. Usage:
include "ledger.dbCaConfigMapName" (list $ false); true names the migration hook's own copy (hooks
run before the release's ordinary resources exist).
*/}}
{{- define "ledger.dbCaConfigMapName" -}}
{{- $root := index . 0 -}}
{{- if index . 1 -}}
{{- printf "%s-db-ca" (include "ledger.roleFullname" (list $root "migrate")) -}}
{{- else -}}
{{- printf "%s-db-ca" (include "ledger.fullname" $root) -}}
{{- end -}}
{{- end -}}

{{/*
The database CA bundle as a pod volume (nothing when disabled): the key of the ConfigMap or
Secret becomes <mountPath>/<fileName>, the sslrootcert of LEDGER_DATABASE_URL. Source precedence:
pem (a ConfigMap of the chart), existingSecret, existingConfigMap.
Usage: include "ledger.dbCaVolume" (list $ false); true for the migration hook Job.
*/}}
{{- define "ledger.dbCaVolume" -}}
{{- $root := index . 0 -}}
{{- $ca := ($root.Values.database | default dict).caBundle | default dict -}}
{{- if $ca.enabled -}}
- name: db-ca
{{- if $ca.pem }}
  configMap:
    name: {{ include "ledger.dbCaConfigMapName" . }}
{{- else if $ca.existingSecret }}
  secret:
    secretName: {{ $ca.existingSecret }}
{{- else }}
  configMap:
    name: {{ $ca.existingConfigMap }}
{{- end }}
    defaultMode: 0444
    items:
      - key: {{ $ca.key | quote }}
        path: {{ $ca.fileName | quote }}
{{- end -}}
{{- end -}}

{{/* The read-only mount of the database CA bundle (nothing when disabled). */}}
{{- define "ledger.dbCaVolumeMount" -}}
{{- $ca := (.Values.database | default dict).caBundle | default dict -}}
{{- if $ca.enabled -}}
- name: db-ca
  mountPath: {{ $ca.mountPath }}
  readOnly: true
{{- end -}}
{{- end -}}

{{/*
database.caBundle checks (they also hold under --skip-schema-validation): enabled needs a source,
else every pod would wait for a volume that can never exist.
*/}}
{{- define "ledger.validateDbCa" -}}
{{- $ca := (.Values.database | default dict).caBundle | default dict -}}
{{- if and $ca.enabled (not (or $ca.pem $ca.existingSecret $ca.existingConfigMap)) -}}
{{- fail "database.caBundle is enabled without a source: set database.caBundle.existingConfigMap, .existingSecret or .pem (the CA bundle named by sslrootcert in LEDGER_DATABASE_URL), or set database.caBundle.enabled=false" -}}
{{- end -}}
{{- end -}}

{{/*
checkov skips that hold for every workload of the chart. Kubernetes manifests cannot carry
comments into checkov, so its skips are annotations: checkov.io/skipN: <check>=<reason>.
*/}}
{{- define "ledger.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_35=The ledger reads LEDGER_DATABASE_URL and LEDGER_STOMP_URL from the environment only; the values come from an existing Secret via secretKeyRef and are never written to the pod spec.
checkov.io/skip2: CKV_K8S_43=The release pipeline pins the image by digest through the value image.digest (it wins over the tag); a chart default cannot know the digest.
{{- end -}}

{{/*
Name of the maker-checker expiry CronJob (and its NetworkPolicy): a CronJob name may have 52
characters at most (the controller appends an 11-character suffix to each Job's name).
*/}}
{{- define "ledger.approvalsExpiryName" -}}
{{- printf "%s-approvals-expiry" (include "ledger.fullname" . | trunc 35 | trimSuffix "-") -}}
{{- end -}}

{{/* The notification rules file's content. */}}
{{- define "ledger.notificationRules" -}}
{{ dict "rules" .Values.config.notificationRules | toJson }}
{{- end -}}
