{{- define "cdcflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cdcflow.fullname" -}}
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

{{- define "cdcflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "cdcflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "jobmanager"). */}}
{{- define "cdcflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cdcflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cdcflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "cdcflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cdcflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cdcflow.jobmanagerAddress" -}}
{{- printf "%s-jobmanager:%d" (include "cdcflow.fullname" .) (int .Values.jobManager.rpcPort) -}}
{{- end -}}

{{- define "cdcflow.checkpointClaimName" -}}
{{- default (printf "%s-checkpoints" (include "cdcflow.fullname" .)) .Values.checkpoints.persistence.existingClaim -}}
{{- end -}}

{{/* The checkpoint volume, shared by the job manager and the task managers. */}}
{{- define "cdcflow.checkpointVolume" -}}
- name: checkpoints
{{- if .Values.checkpoints.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "cdcflow.checkpointClaimName" . }}
{{- else if .Values.checkpoints.volume }}
{{ toYaml .Values.checkpoints.volume | indent 2 }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* Pod-level settings common to cdcflow pods. */}}
{{- define "cdcflow.podCommon" -}}
serviceAccountName: {{ include "cdcflow.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
securityContext:
{{ toYaml .Values.podSecurityContext | indent 2 }}
{{- end -}}

{{/* Environment from the ConfigMap, plus the pod's own name and address. */}}
{{- define "cdcflow.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "cdcflow.fullname" . }}
env:
  - name: POD_NAME
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  - name: POD_IP
    valueFrom:
      fieldRef:
        fieldPath: status.podIP
{{- end -}}
