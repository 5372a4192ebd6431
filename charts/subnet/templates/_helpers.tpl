{{- define "subnet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: subnetes
subnetes.io/subnet: {{ .subnet }}
{{- end -}}

{{/* A neuron's pod template: image, args, GPUs (with the GPU taint toleration), placement. */}}
{{- define "subnet.podTemplate" -}}
{{- $pool := .pool -}}
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
  containers:
    - name: {{ .role }}
      image: {{ $pool.image }}
      {{- with $pool.args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- $res := deepCopy (default dict $pool.resources) }}
        {{- if gt (int $pool.gpus) 0 }}
        {{- $_ := set $res "limits" (merge (dict "nvidia.com/gpu" (int $pool.gpus)) (default dict $res.limits)) }}
        {{- end }}
        {{- toYaml $res | nindent 8 }}
{{- end -}}
