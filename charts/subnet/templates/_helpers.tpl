{{- define "subnet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: subnetes
subnetes.io/subnet: {{ .subnet }}
{{- end -}}

{{/*
A neuron's pod template from its pool's values: image, command, args, env, resources, GPUs
(with the GPU taint's toleration), placement, pod metadata, security contexts, probes, pull
secrets and volumes. Unset values are left out, so the operator's defaults apply (probes,
read-only root with /tmp, restricted security context, validator memory limit).
*/}}
{{- define "subnet.podTemplate" -}}
{{- $pool := .pool -}}
{{- if or $pool.podLabels $pool.podAnnotations }}
metadata:
  {{- with $pool.podLabels }}
  labels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
spec:
  {{- with $pool.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if or $pool.tolerations (gt (int $pool.gpus) 0) }}
  tolerations:
    {{- with $pool.tolerations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- if gt (int $pool.gpus) 0 }}
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
    {{- end }}
  {{- end }}
  {{- with $pool.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $pool.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $pool.serviceAccountName }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with $pool.volumes }}
  volumes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .role }}
      image: {{ $pool.image }}
      {{- with $pool.command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pool.args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pool.env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- $res := deepCopy (default dict $pool.resources) }}
        {{- if gt (int $pool.gpus) 0 }}
        {{- $_ := set $res "limits" (merge (dict "nvidia.com/gpu" (int $pool.gpus)) (default dict $res.limits)) }}
        {{- end }}
        {{- toYaml $res | nindent 8 }}
      {{- with $pool.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- range $probe := list "startupProbe" "livenessProbe" "readinessProbe" }}
      {{- with index $pool $probe }}
      {{ $probe }}:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with $pool.volumeMounts }}
      volumeMounts:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* What the neuron CRDs' CEL rules refuse, refused before anything is applied. */}}
{{- define "subnet.checks" -}}
{{- $s := . -}}
{{- $h := default dict $s.hyperparameters -}}
{{- if and (hasKey $h "maxAllowedValidators") (hasKey $h "maxAllowedUids") -}}
{{- if gt (int $h.maxAllowedValidators) (int $h.maxAllowedUids) -}}
{{- fail (printf "subnets[%s].hyperparameters: maxAllowedValidators (%v) must not exceed maxAllowedUids (%v)" $s.name $h.maxAllowedValidators $h.maxAllowedUids) -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $h "minBurn") (hasKey $h "maxBurn") -}}
{{- if gt (float64 $h.minBurn) (float64 $h.maxBurn) -}}
{{- fail (printf "subnets[%s].hyperparameters: minBurn (%v) must not exceed maxBurn (%v)" $s.name $h.minBurn $h.maxBurn) -}}
{{- end -}}
{{- end -}}
{{- $la := default dict $h.liquidAlpha -}}
{{- /* unset bounds take the Subnet CRD's defaults, as the API server applies them */ -}}
{{- $low := ternary $la.alphaLow 45875 (hasKey $la "alphaLow") -}}
{{- $high := ternary $la.alphaHigh 58982 (hasKey $la "alphaHigh") -}}
{{- if gt (int $low) (int $high) -}}
{{- fail (printf "subnets[%s].hyperparameters.liquidAlpha: alphaLow must not exceed alphaHigh" $s.name) -}}
{{- end -}}
{{- range $role := list "validators" "miners" -}}
{{- $p := index $s $role -}}
{{- if gt (len (default list $p.hotkeySecrets)) (int $p.count) -}}
{{- fail (printf "subnets[%s].%s: %d hotkeySecrets for count %v" $s.name $role (len $p.hotkeySecrets) $p.count) -}}
{{- end -}}
{{- end -}}
{{- $pools := dict -}}
{{- range $p := default list $s.minerPools -}}
{{- if hasKey $pools (toString $p.name) -}}
{{- fail (printf "subnets[%s].minerPools: the pool name %q appears twice (pool names must be unique in a subnet)" $s.name $p.name) -}}
{{- end -}}
{{- $_ := set $pools (toString $p.name) true -}}
{{- if gt (len (default list $p.hotkeySecrets)) (int $p.count) -}}
{{- fail (printf "subnets[%s].minerPools[%s]: %d hotkeySecrets for count %v" $s.name $p.name (len $p.hotkeySecrets) $p.count) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The neuron CRDs' name limit (MAX_NAME in operator/crds/neuron.py: a neuron's StatefulSet pod
carries a `<name>-<hash>` revision label that must fit 63 characters). The chart checks the
Miner names of minerPools against it; tests/charts/test_subnet_chart_pools.py checks that the
two agree.
*/}}
{{- define "subnet.maxNeuronName" -}}52{{- end -}}
