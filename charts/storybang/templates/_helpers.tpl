{{/*
Names, labels, images and the values checks every template shares.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "storybang.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object's name: <release>-<chart>, or the release alone when it already holds the chart name. */}}
{{- define "storybang.fullname" -}}
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

{{/* <fullname>-<suffix>, kept within the 63 characters of a label value / DNS label. */}}
{{- define "storybang.componentName" -}}
{{- $full := include "storybang.fullname" .root -}}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .name)))) .name | trimSuffix "-" -}}
{{- end -}}

{{- define "storybang.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: stable for the life of a release (a selector cannot change).
Call with (dict "root" $ "component" "redis").
The chart's own pods deliberately carry no app.kubernetes.io/part-of=storybang: that label is how the
operator's NetworkPolicies (default deny) select the pods the operator runs, and the operator, the
datastores and the migration Job have their own paths (the Job opts in, see migrations/job.yaml).
*/}}
{{- define "storybang.selectorLabels" -}}
app.kubernetes.io/name: {{ include "storybang.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Every label of an object the chart renders. Call with (dict "root" $ "component" "redis"). */}}
{{- define "storybang.labels" -}}
helm.sh/chart: {{ include "storybang.chart" .root }}
{{ include "storybang.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.labels and metadata.annotations of an object. Call with (dict "root" $ "component" "x" "annotations" (dict …)). */}}
{{- define "storybang.metadata" -}}
labels:
  {{- include "storybang.labels" . | nindent 2 }}
{{- $annotations := merge (dict) (.annotations | default dict) (.root.Values.commonAnnotations | default dict) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
An image reference from {registry, repository, tag, digest}: registry/repository@digest, else
registry/repository:tag, where an empty tag means the chart's appVersion and global.imageRegistry
replaces the registry. Call with (dict "root" $ "image" .Values.x.image).
*/}}
{{- define "storybang.image" -}}
{{- $registry := .image.registry -}}
{{- with .root.Values.global.imageRegistry }}{{ $registry = . }}{{ end -}}
{{- $repo := ternary .image.repository (printf "%s/%s" $registry .image.repository) (empty $registry) -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .root.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets of a pod. */}}
{{- define "storybang.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The StorageClass line of a PVC spec, or nothing (the cluster's default class). */}}
{{- define "storybang.storageClass" -}}
{{- $class := .persistence.storageClass | default .root.Values.global.storageClass -}}
{{- if $class }}
storageClassName: {{ if eq $class "-" }}""{{ else }}{{ $class }}{{ end }}
{{- end }}
{{- end -}}

{{/*
Pod Security Standard "restricted", pod level. Call with a uid (or nil for the image's user, which
must then be numeric and not 0).
*/}}
{{- define "storybang.podSecurityContext" -}}
runAsNonRoot: true
{{- with . }}
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod Security Standard "restricted", container level, plus a read-only root filesystem. */}}
{{- define "storybang.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* --- names of the objects other templates refer to ------------------------------------- */}}

{{- define "storybang.platformName" -}}
{{- .Values.platform.name | default (include "storybang.fullname" .) -}}
{{- end -}}

{{- define "storybang.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- .Values.operator.serviceAccount.name | default (include "storybang.componentName" (dict "root" . "name" "operator")) -}}
{{- else -}}
{{- .Values.operator.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The namespaces a namespaced operator watches. */}}
{{- define "storybang.operator.namespaces" -}}
{{- $namespaces := .Values.operator.watchNamespaces | default (list .Release.Namespace) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{- define "storybang.modelServerName" -}}
{{- include "storybang.componentName" (dict "root" . "name" .Values.modelServer.name) -}}
{{- end -}}

{{/*
The Secret and keys of each datastore URL: the chart's Secret for an internal store or an external
URL, the given Secret otherwise. Returns JSON {secretName, urlKey, …}.
*/}}
{{- define "storybang.redis.secretRef" -}}
{{- if .Values.externalRedis.existingSecret -}}
{{- $ref := dict "secretName" .Values.externalRedis.existingSecret "urlKey" .Values.externalRedis.existingSecretUrlKey "addressKey" .Values.externalRedis.existingSecretAddressKey "databaseIndex" (int .Values.externalRedis.databaseIndex) "tls" .Values.externalRedis.tls -}}
{{- with .Values.externalRedis.existingSecretPasswordKey }}{{ $_ := set $ref "passwordKey" . }}{{ end -}}
{{- toJson $ref -}}
{{- else if .Values.redis.enabled -}}
{{- toJson (dict "secretName" (include "storybang.credentialSecret" (dict "root" . "name" "redis" "existing" .Values.redis.auth.existingSecret)) "urlKey" "url" "addressKey" "address" "passwordKey" "password" "databaseIndex" (int .Values.redis.databaseIndex) "tls" false) -}}
{{- else -}}
{{- $url := urlParse .Values.externalRedis.url -}}
{{- $ref := dict "secretName" (include "storybang.componentName" (dict "root" . "name" "redis")) "urlKey" "url" "addressKey" "address" "databaseIndex" (include "storybang.redis.urlDatabase" .Values.externalRedis.url | int) "tls" (eq $url.scheme "rediss") -}}
{{- if include "storybang.redis.urlPassword" .Values.externalRedis.url }}{{ $_ := set $ref "passwordKey" "password" }}{{ end -}}
{{- toJson $ref -}}
{{- end -}}
{{- end -}}

{{/*
The password of a redis:// URL ("" when none), decoded: KEDA sends it as it finds it in the Secret,
so `p%40ss` must become `p@ss`. Sprig has no URL decoder: each %XX becomes a JSON \u00XX escape,
which fromJson decodes. That is right for ASCII only; a percent-encoded byte above 0x7F (a UTF-8
character) is refused rather than decoded wrong.
*/}}
{{- define "storybang.redis.urlPassword" -}}
{{- $userinfo := (urlParse .).userinfo -}}
{{- if contains ":" $userinfo -}}
{{- $escaped := regexReplaceAll "^[^:]*:" $userinfo "" -}}
{{- if regexMatch "%[89A-Fa-f][0-9A-Fa-f]" $escaped -}}
{{- include "storybang.fail" "externalRedis.url: a password with characters beyond ASCII cannot be decoded here; give it with externalRedis.existingSecret and existingSecretPasswordKey" -}}
{{- end -}}
{{- $json := $escaped | replace "\\" "\\\\" | replace "\"" "\\\"" -}}
{{- $json = regexReplaceAll "%([0-9A-Fa-f]{2})" $json "\\u00${1}" -}}
{{- (printf "{\"password\": \"%s\"}" $json | fromJson).password -}}
{{- end -}}
{{- end -}}

{{/*
A URL's userinfo part, percent-encoded: urlquery is form encoding, which writes a space as "+",
and in a URL's userinfo "+" is a plus (redis-py and SQLAlchemy read it so); "%20" is a space to
every reader.
*/}}
{{- define "storybang.urlEscape" -}}
{{- urlquery . | replace "+" "%20" -}}
{{- end -}}

{{/*
The bundled Redis's maxmemory: redis.maxmemory as given, else redis.maxmemoryPercent of the
container's memory limit, in bytes. A limit is a Kubernetes quantity: a whole number with an
optional binary (Ki…Ti) or decimal (k, K, M, G, T) suffix; anything else is refused.
*/}}
{{- define "storybang.redis.maxmemory" -}}
{{- $r := .Values.redis -}}
{{- if $r.maxmemory -}}
{{- $r.maxmemory -}}
{{- else -}}
{{- $limit := toString (dig "limits" "memory" "" ($r.resources | default dict)) -}}
{{- if not $limit -}}
{{- include "storybang.fail" "redis.resources.limits.memory must be set: Redis's maxmemory is derived from it (or set redis.maxmemory)" -}}
{{- end -}}
{{- $parts := regexFindAll "^([0-9]+)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$" $limit 1 -}}
{{- if not $parts -}}
{{- include "storybang.fail" (printf "redis.resources.limits.memory %q: give a whole number with Ki, Mi, Gi, Ti, k, M, G or T (or set redis.maxmemory)" $limit) -}}
{{- end -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $suffix := regexReplaceAll "^[0-9]+" $limit "" -}}
{{- $bytes := mul (regexReplaceAll "[^0-9]" $limit "" | int64) (index $units $suffix) -}}
{{- div (mul $bytes ($r.maxmemoryPercent | int64)) 100 -}}
{{- end -}}
{{- end -}}

{{/* The database number in the path of a redis:// URL (0 when none). */}}
{{- define "storybang.redis.urlDatabase" -}}
{{- (urlParse .).path | trimPrefix "/" | default "0" -}}
{{- end -}}

{{- define "storybang.mysql.secretRef" -}}
{{- if .Values.externalMysql.existingSecret -}}
{{- toJson (dict "secretName" .Values.externalMysql.existingSecret "urlKey" .Values.externalMysql.existingSecretUrlKey) -}}
{{- else if .Values.mysql.enabled -}}
{{- toJson (dict "secretName" (include "storybang.credentialSecret" (dict "root" . "name" "mysql" "existing" .Values.mysql.auth.existingSecret)) "urlKey" "url") -}}
{{- else -}}
{{- toJson (dict "secretName" (include "storybang.componentName" (dict "root" . "name" "mysql")) "urlKey" "url") -}}
{{- end -}}
{{- end -}}

{{- define "storybang.mongodb.secretRef" -}}
{{- if .Values.externalMongodb.existingSecret -}}
{{- toJson (dict "secretName" .Values.externalMongodb.existingSecret "urlKey" .Values.externalMongodb.existingSecretUrlKey) -}}
{{- else if .Values.mongodb.enabled -}}
{{- toJson (dict "secretName" (include "storybang.credentialSecret" (dict "root" . "name" "mongodb" "existing" .Values.mongodb.auth.existingSecret)) "urlKey" "url") -}}
{{- else -}}
{{- toJson (dict "secretName" (include "storybang.componentName" (dict "root" . "name" "mongodb")) "urlKey" "url") -}}
{{- end -}}
{{- end -}}

{{/*
The datastores' TCP ports, for the Platform's NetworkPolicies (a JSON list): the bundled servers'
ports; the port of each host of an external URL (a MongoDB URL may name several), its scheme's
default where it names none; externalX.port beside an existingSecret, whose URL the chart cannot
read, and for mongodb+srv://, whose ports are in DNS.
*/}}
{{- define "storybang.datastorePorts" -}}
{{- $ports := list -}}
{{- range $store := list
      (dict "bundled" .Values.redis.enabled "external" .Values.externalRedis "default" 6379)
      (dict "bundled" .Values.mysql.enabled "external" .Values.externalMysql "default" 3306)
      (dict "bundled" .Values.mongodb.enabled "external" .Values.externalMongodb "default" 27017) -}}
{{- $url := $store.external.url -}}
{{- if $store.external.existingSecret -}}
{{- $ports = append $ports (int $store.external.port) -}}
{{- else if $store.bundled -}}
{{- $ports = append $ports $store.default -}}
{{- else if hasPrefix "mongodb+srv://" $url -}}
{{- $ports = append $ports (int $store.external.port) -}}
{{- else -}}
{{- $authority := regexReplaceAll "[/?#].*$" (regexReplaceAll "^[^:]*://" $url "") "" -}}
{{- range $host := splitList "," (regexReplaceAll "^.*@" $authority "") -}}
{{- $port := regexFind "[0-9]+$" (regexFind ":[0-9]+$" $host) -}}
{{- $ports = append $ports (ternary (int $port) $store.default (ne $port "")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq $ports) -}}
{{- end -}}

{{- define "storybang.signingKey.secretRef" -}}
{{- if .Values.platform.auth.signingKey.existingSecret -}}
{{- toJson (dict "secretName" .Values.platform.auth.signingKey.existingSecret "key" .Values.platform.auth.signingKey.existingSecretKey) -}}
{{- else -}}
{{- toJson (dict "secretName" (include "storybang.componentName" (dict "root" . "name" "signing-key")) "key" "signing-key") -}}
{{- end -}}
{{- end -}}

{{/*
A credential that survives `helm upgrade`: the value given in values, else the one in the live
Secret (lookup), else a new random one. Under `helm template` (Argo CD, Flux) lookup finds nothing
and every render would make new passwords: with secrets.generate=false neither lookup nor random is
used, and a credential that is not given fails the render, naming the existingSecret to set.
Call with (dict "root" $ "secret" "<name>" "key" "<key>" "value" "<given>" "existing" "<value path>").
*/}}
{{- define "storybang.credential" -}}
{{- if .value -}}
{{- .value -}}
{{- else if not .root.Values.secrets.generate -}}
{{- include "storybang.fail" (printf "secrets.generate=false: the chart generates no credential; set %s to a Secret you create (chart README: GitOps)" .existing) -}}
{{- else -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $live $live.data (hasKey $live.data .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (.length | default 32) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The Secret holding a bundled datastore's credentials (and its URL): the given existingSecret, else
the chart's own. Call with (dict "root" $ "name" "redis|mysql|mongodb" "existing" "<existingSecret>").
*/}}
{{- define "storybang.credentialSecret" -}}
{{- .existing | default (include "storybang.componentName" (dict "root" .root "name" .name)) -}}
{{- end -}}

{{/* Annotations of a Secret holding credentials. */}}
{{- define "storybang.credentialAnnotations" -}}
{{- if .Values.secrets.keepOnUninstall -}}
{{- toJson (dict "helm.sh/resource-policy" "keep") -}}
{{- else -}}
{{- toJson (dict) -}}
{{- end -}}
{{- end -}}
