{{/* Common names and labels. */}}
{{- define "subnetes.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Labels as a dict, so that no key can appear twice in an object (strict YAML parsers reject
duplicate keys): the chart's own labels win over commonLabels.
*/}}
{{- define "subnetes.labelsDict" -}}
{{- $own := dict
  "helm.sh/chart" (printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_")
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/version" .Chart.AppVersion
  "app.kubernetes.io/managed-by" .Release.Service
  "app.kubernetes.io/part-of" "subnetes" -}}
{{- toYaml (merge $own (deepCopy (default dict .Values.commonLabels))) -}}
{{- end -}}

{{- define "subnetes.labels" -}}
{{- include "subnetes.labelsDict" . -}}
{{- end -}}

{{- define "subnetes.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/*
Labels of one component's objects and pods: the common labels, the selector labels and
app.kubernetes.io/component, each key once. Call with (dict "root" $ "name" "subnetes-chain"
"component" "chain"); "component" may be empty.
*/}}
{{- define "subnetes.componentLabels" -}}
{{- $l := include "subnetes.labelsDict" .root | fromYaml -}}
{{- $_ := set $l "app.kubernetes.io/name" .name -}}
{{- with .component }}{{ $_ := set $l "app.kubernetes.io/component" . }}{{ end -}}
{{- toYaml $l -}}
{{- end -}}

{{- define "subnetes.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- printf "%s:%s%s" .root.Values.image.repository $tag (default "" .suffix) -}}
{{- end -}}

{{- define "subnetes.operatorServiceAccount" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "subnetes.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "subnetes.chainService" -}}
{{- printf "%s-chain" (include "subnetes.fullname" .) -}}
{{- end -}}

{{/* The chain API URL the operator and its workloads use: the in-cluster Service, or
chain.endpoint when the chart runs no chain. */}}
{{- define "subnetes.chainEndpoint" -}}
{{- if .Values.chain.enabled -}}
{{- printf "http://%s.%s.svc:%v" (include "subnetes.chainService" .) .Release.Namespace .Values.chain.port -}}
{{- else -}}
{{- required "chain.endpoint is required when chain.enabled=false: the URL of the chain API the operator uses (e.g. http://chain.example:9944)" .Values.chain.endpoint -}}
{{- end -}}
{{- end -}}

{{/*
chain.genesis.balances as the chain's JSON list. Amounts are printed as integers: a YAML number
arrives as a float (printed as 1e+12 otherwise), a string of digits as it is.
*/}}
{{- define "subnetes.genesisBalancesJson" -}}
[
{{- range $i, $b := .Values.chain.genesis.balances }}
  {"address": {{ $b.address | toJson }}, "rao": {{ if kindIs "string" $b.rao }}{{ $b.rao }}{{ else }}{{ int64 $b.rao }}{{ end }}}{{ if lt (add1 $i) (len $.Values.chain.genesis.balances) }},{{ end }}
{{- end }}
]
{{- end -}}
