variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key that encrypts the log groups and the alarm topic."
  type        = string
}

variable "queues" {
  description = "The data module's `queues` output (per stage: name, dlq_name, ...)."
  type = map(object({
    name     = string
    dlq_name = string
  }))
}

variable "services" {
  description = "Containers that get a log group: api, one per stage, and the scheduled journey-starter task."
  type        = list(string)
  default     = ["api", "poll", "fetch", "transcribe", "analyze", "journey-starter"]
}

variable "log_retention_days" {
  description = "Retention of the container log groups (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "oldest_message_age_alarm_seconds" {
  description = "Per stage: alarm when the oldest message in the stage queue is older than this many seconds."
  type        = map(number)
  default = {
    poll       = 900
    fetch      = 3600
    transcribe = 3600
    analyze    = 3600
  }
}

variable "alarm_email_addresses" {
  description = "Addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
