{{/*
Values the chart cannot work with, refused at render time with a message naming the value.
values.schema.json already checks types; these are the rules a schema cannot say (or says badly).
Rendered by validate.yaml, so `helm template`, `helm lint` and `helm install` all stop on them.
*/}}

{{- define "storybang.fail" -}}
{{- fail (printf "\n\nstorybang: %s\n" .) -}}
{{- end -}}

{{/* A tag: Docker's grammar, optionally followed by @sha256:… (skaffold's `tag@digest`). */}}
{{- define "storybang.validate.image" -}}
{{- $path := .path -}}
{{- $image := .image -}}
{{- with $image.tag -}}
{{- if not (regexMatch "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$" (toString .)) -}}
{{- include "storybang.fail" (printf "%s.tag %q is not a valid image tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')" $path (toString .)) -}}
{{- end -}}
{{- end -}}
{{- with $image.digest -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" .) -}}
{{- include "storybang.fail" (printf "%s.digest %q is not a digest (sha256: and 64 lowercase hex digits)" $path .) -}}
{{- end -}}
{{- end -}}
{{- if not $image.repository -}}
{{- include "storybang.fail" (printf "%s.repository must be set" $path) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$" ($image.repository | toString)) -}}
{{- if not (regexMatch "^[a-zA-Z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$" ($image.repository | toString)) -}}
{{- include "storybang.fail" (printf "%s.repository %q is not a valid repository (lowercase path components separated by '/')" $path $image.repository) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* One datastore: exactly one of the internal server, an external URL and an existing Secret. */}}
{{- define "storybang.validate.store" -}}
{{- $internal := .internal.enabled -}}
{{- $url := .external.url -}}
{{- $secret := .external.existingSecret -}}
{{- $count := add (ternary 1 0 (not (empty $internal))) (ternary 1 0 (not (empty $url))) (ternary 1 0 (not (empty $secret))) -}}
{{- if eq (int $count) 0 -}}
{{- include "storybang.fail" (printf "%s is needed: set %s.enabled=true, or %s.url, or %s.existingSecret" .what .name .externalName .externalName) -}}
{{- end -}}
{{- if gt (int $count) 1 -}}
{{- include "storybang.fail" (printf "%s is given twice: use one of %s.enabled=true, %s.url and %s.existingSecret (set %s.enabled=false to use an external server)" .what .name .externalName .externalName .name) -}}
{{- end -}}
{{- with .internal.auth.existingSecret -}}
{{- range $key := list "password" "rootPassword" -}}
{{- if index $.internal.auth $key -}}
{{- include "storybang.fail" (printf "%s.auth.%s and %s.auth.existingSecret are both given: the password is the one in the Secret" $.name $key $.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $url -}}
{{- if not (regexMatch .scheme $url) -}}
{{- include "storybang.fail" (printf "%s.url must start with %s" .externalName .schemeText) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "storybang.validate.replicas" -}}
{{- $ok := false -}}
{{- if or (kindIs "float64" .value) (kindIs "int64" .value) (kindIs "int" .value) -}}
{{- if and (eq (.value | float64) (.value | int | float64)) (ge (.value | int) (.min | int)) -}}
{{- $ok = true -}}
{{- end -}}
{{- end -}}
{{- if not $ok -}}
{{- include "storybang.fail" (printf "%s must be a whole number of at least %d, not %v" .path (.min | int) .value) -}}
{{- end -}}
{{- end -}}

{{- define "storybang.validate.autoscaling" -}}
{{- with .value -}}
{{- $min := .minReplicas | default 1 | int -}}
{{- $max := .maxReplicas | default 10 | int -}}
{{- if gt $min $max -}}
{{- include "storybang.fail" (printf "%s.minReplicas (%d) must not exceed %s.maxReplicas (%d)" $.path $min $.path $max) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "storybang.validate" -}}
{{- $v := .Values -}}

{{/* Images. */}}
{{- include "storybang.validate.image" (dict "path" "operator.image" "image" $v.operator.image) -}}
{{- include "storybang.validate.image" (dict "path" "platform.image" "image" $v.platform.image) -}}
{{- include "storybang.validate.image" (dict "path" "modelServer.image" "image" $v.modelServer.image) -}}
{{- include "storybang.validate.image" (dict "path" "redis.image" "image" $v.redis.image) -}}
{{- include "storybang.validate.image" (dict "path" "mysql.image" "image" $v.mysql.image) -}}
{{- include "storybang.validate.image" (dict "path" "mongodb.image" "image" $v.mongodb.image) -}}

{{/* Operator. */}}
{{- include "storybang.validate.replicas" (dict "path" "operator.replicas" "value" $v.operator.replicas "min" 1) -}}
{{- if not (has $v.operator.scope (list "cluster" "namespace")) -}}
{{- include "storybang.fail" (printf "operator.scope must be cluster or namespace, not %q" (toString $v.operator.scope)) -}}
{{- end -}}
{{- if and $v.operator.watchNamespaces (ne $v.operator.scope "namespace") -}}
{{- include "storybang.fail" "operator.watchNamespaces is only read with operator.scope=namespace; set the scope or empty the list" -}}
{{- end -}}
{{- if not (has $v.operator.logLevel (list "info" "verbose" "debug")) -}}
{{- include "storybang.fail" (printf "operator.logLevel must be info, verbose or debug, not %q" (toString $v.operator.logLevel)) -}}
{{- end -}}
{{- if lt ($v.operator.resyncSeconds | int) 1 -}}
{{- include "storybang.fail" "operator.resyncSeconds must be at least 1" -}}
{{- end -}}
{{- if and $v.operator.metrics.enabled (eq ($v.operator.metrics.port | int) ($v.operator.healthPort | int)) -}}
{{- include "storybang.fail" "operator.metrics.port and operator.healthPort must differ" -}}
{{- end -}}

{{- if $v.platform.enabled -}}
{{/* Datastores: one source each. */}}
{{- include "storybang.validate.store" (dict "what" "Redis" "name" "redis" "externalName" "externalRedis" "internal" $v.redis "external" $v.externalRedis "scheme" "^rediss?://" "schemeText" "redis:// or rediss://") -}}
{{- include "storybang.validate.store" (dict "what" "MySQL" "name" "mysql" "externalName" "externalMysql" "internal" $v.mysql "external" $v.externalMysql "scheme" "^mysql\\+asyncmy://" "schemeText" "mysql+asyncmy:// (the services connect with asyncmy)") -}}
{{- include "storybang.validate.store" (dict "what" "MongoDB" "name" "mongodb" "externalName" "externalMongodb" "internal" $v.mongodb "external" $v.externalMongodb "scheme" "^mongodb(\\+srv)?://" "schemeText" "mongodb:// or mongodb+srv://") -}}
{{- if and $v.externalRedis.url (not (regexMatch "^rediss?://[^/]*:[0-9]+" $v.externalRedis.url)) -}}
{{- include "storybang.fail" "externalRedis.url must name the port (redis://[:password@]host:port/db): KEDA reads host:port from it" -}}
{{- end -}}
{{- if and $v.redis.enabled (not $v.redis.maxmemory) (or (lt ($v.redis.maxmemoryPercent | int) 1) (gt ($v.redis.maxmemoryPercent | int) 95)) -}}
{{- include "storybang.fail" "redis.maxmemoryPercent must be between 1 and 95: the rest of the memory limit is Redis's headroom" -}}
{{- end -}}
{{- if gt ($v.redis.databaseIndex | int) 15 -}}
{{- include "storybang.fail" "redis.databaseIndex must be between 0 and 15" -}}
{{- end -}}

{{/* Platform. */}}
{{- if not (has $v.platform.environment (list "production" "dev")) -}}
{{- include "storybang.fail" (printf "platform.environment must be production or dev, not %q" (toString $v.platform.environment)) -}}
{{- end -}}
{{- if not (has $v.platform.logLevel (list "debug" "info" "warning" "error")) -}}
{{- include "storybang.fail" (printf "platform.logLevel must be debug, info, warning or error, not %q" (toString $v.platform.logLevel)) -}}
{{- end -}}
{{- range $key, $_ := $v.platform.settings -}}
{{- if not (hasPrefix "STORYBANG_" $key) -}}
{{- include "storybang.fail" (printf "platform.settings key %q must start with STORYBANG_ (secrets never go here)" $key) -}}
{{- end -}}
{{- end -}}
{{- $access := $v.platform.auth.accessTokenTTLSeconds | int -}}
{{- $refresh := $v.platform.auth.refreshTokenTTLSeconds | int -}}
{{- if or (lt $access 60) (gt $access 3600) -}}
{{- include "storybang.fail" "platform.auth.accessTokenTTLSeconds must be between 60 and 3600" -}}
{{- end -}}
{{- if or (lt $refresh 3600) (gt $refresh 31536000) -}}
{{- include "storybang.fail" "platform.auth.refreshTokenTTLSeconds must be between 3600 and 31536000" -}}
{{- end -}}
{{- if ge $access $refresh -}}
{{- include "storybang.fail" "platform.auth.accessTokenTTLSeconds must be shorter than platform.auth.refreshTokenTTLSeconds" -}}
{{- end -}}
{{- if not (has $v.platform.mail.backend (list "log" "smtp")) -}}
{{- include "storybang.fail" (printf "platform.mail.backend must be log or smtp, not %q" (toString $v.platform.mail.backend)) -}}
{{- end -}}
{{- if and (eq $v.platform.mail.backend "smtp") (not $v.platform.mail.smtpHost) -}}
{{- include "storybang.fail" "platform.mail.smtpHost is required with platform.mail.backend=smtp" -}}
{{- end -}}
{{- if and $v.platform.mail.smtpPassword $v.platform.mail.smtpExistingSecret -}}
{{- include "storybang.fail" "give the SMTP password once: platform.mail.smtpPassword or platform.mail.smtpExistingSecret" -}}
{{- end -}}

{{/* Ingress. */}}
{{- if $v.ingress.enabled -}}
{{- if not $v.ingress.host -}}
{{- include "storybang.fail" "ingress.host is required when ingress.enabled=true" -}}
{{- end -}}
{{- if not (regexMatch "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $v.ingress.host) -}}
{{- include "storybang.fail" (printf "ingress.host %q is not a lowercase DNS name" $v.ingress.host) -}}
{{- end -}}
{{- if and $v.ingress.tls.enabled (not $v.ingress.tls.secretName) -}}
{{- include "storybang.fail" "ingress.tls.secretName is required when ingress.tls.enabled=true" -}}
{{- end -}}
{{- end -}}

{{/* Gateway API. */}}
{{- if $v.gateway.enabled -}}
{{- if $v.ingress.enabled -}}
{{- include "storybang.fail" "gateway and ingress are alternatives: set ingress.enabled=false with gateway.enabled=true" -}}
{{- end -}}
{{- if not $v.gateway.parentRefs -}}
{{- include "storybang.fail" "gateway.parentRefs is required when gateway.enabled=true: the Gateways the HTTPRoute attaches to" -}}
{{- end -}}
{{- range $ref := $v.gateway.parentRefs -}}
{{- if not (and (kindIs "map" $ref) $ref.name) -}}
{{- include "storybang.fail" (printf "gateway.parentRefs: each entry needs a name (the Gateway's), not %s" (toJson $ref)) -}}
{{- end -}}
{{- end -}}
{{- if not $v.gateway.hostnames -}}
{{- include "storybang.fail" "gateway.hostnames is required when gateway.enabled=true" -}}
{{- end -}}
{{- range $host := $v.gateway.hostnames -}}
{{- if not (regexMatch "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" (toString $host)) -}}
{{- include "storybang.fail" (printf "gateway.hostnames: %q is not a lowercase DNS name" (toString $host)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Domain services. */}}
{{- range $domain, $ds := $v.domainServices -}}
{{- if not (has $domain (list "identity" "characters" "stories" "generation" "notifier" "web")) -}}
{{- include "storybang.fail" (printf "domainServices.%s: unknown domain (identity, characters, stories, generation, notifier, web)" $domain) -}}
{{- end -}}
{{- if $ds.enabled -}}
{{- include "storybang.validate.replicas" (dict "path" (printf "domainServices.%s.replicas" $domain) "value" $ds.replicas "min" 0) -}}
{{- include "storybang.validate.autoscaling" (dict "path" (printf "domainServices.%s.autoscaling" $domain) "value" $ds.autoscaling) -}}
{{- end -}}
{{- end -}}

{{/* Generators. */}}
{{- range $task, $gen := $v.generators -}}
{{- if not (has $task (list "story" "image" "describe" "translate")) -}}
{{- include "storybang.fail" (printf "generators.%s: unknown task (story, image, describe, translate)" $task) -}}
{{- end -}}
{{- if $gen.enabled -}}
{{- if and (not $gen.backends) (not $v.modelServer.enabled) -}}
{{- include "storybang.fail" (printf "generators.%s.backends is empty and modelServer.enabled=false: give the %s workers a backend, or turn them off" $task $task) -}}
{{- end -}}
{{- range $gen.backends -}}
{{- if not .name -}}
{{- include "storybang.fail" (printf "generators.%s.backends: every backend needs a name" $task) -}}
{{- end -}}
{{- $backend := . -}}
{{- $kinds := 0 -}}
{{- range $kind := list "modelServerRef" "external" "apertium" -}}
{{- if hasKey $backend $kind -}}{{- $kinds = add1 $kinds -}}{{- end -}}
{{- end -}}
{{- if ne $kinds 1 -}}
{{- include "storybang.fail" (printf "generators.%s.backends %s: give exactly one of modelServerRef, external and apertium" $task (.name | default "?")) -}}
{{- end -}}
{{- if and (hasKey . "apertium") (ne $task "translate") -}}
{{- include "storybang.fail" (printf "generators.%s.backends %s: an apertium backend only translates; give it to generators.translate" $task .name) -}}
{{- end -}}
{{- end -}}
{{- $workers := $gen.workers | default dict -}}
{{- $min := hasKey $workers "minReplicas" | ternary ($workers.minReplicas | int) 1 -}}
{{- $max := $workers.maxReplicas | default 4 | int -}}
{{- if lt $min 0 -}}
{{- include "storybang.fail" (printf "generators.%s.workers.minReplicas must not be negative" $task) -}}
{{- end -}}
{{- if gt $min $max -}}
{{- include "storybang.fail" (printf "generators.%s.workers.minReplicas (%d) must not exceed maxReplicas (%d)" $task $min $max) -}}
{{- end -}}
{{- $timeout := (($gen.limits | default dict).timeoutSeconds | default 120) | int -}}
{{- $cooldown := $workers.cooldownSeconds | default 300 | int -}}
{{- if and (eq $min 0) (lt $cooldown $timeout) -}}
{{- include "storybang.fail" (printf "generators.%s: with workers.minReplicas=0, workers.cooldownSeconds (%d) must be at least limits.timeoutSeconds (%d), or a worker may be stopped in the middle of a job" $task $cooldown $timeout) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Model server. */}}
{{- if $v.modelServer.enabled -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" ($v.modelServer.name | toString)) -}}
{{- include "storybang.fail" (printf "modelServer.name %q must be a lowercase DNS label" (toString $v.modelServer.name)) -}}
{{- end -}}
{{- include "storybang.validate.replicas" (dict "path" "modelServer.replicas" "value" $v.modelServer.replicas "min" 0) -}}
{{- include "storybang.validate.autoscaling" (dict "path" "modelServer.autoscaling" "value" $v.modelServer.autoscaling) -}}
{{- end -}}
{{- end -}}

{{/* Migrations. */}}
{{- if $v.migrations.enabled -}}
{{- if not $v.platform.enabled -}}
{{- include "storybang.fail" "migrations.enabled needs platform.enabled (the Job reads the platform's Secrets); set migrations.enabled=false" -}}
{{- end -}}
{{- include "storybang.validate.replicas" (dict "path" "migrations.backoffLimit" "value" $v.migrations.backoffLimit "min" 0) -}}
{{- end -}}
{{- end -}}
