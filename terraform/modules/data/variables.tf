variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"callpipe-prod\". The code derives the same names from CALLPIPE_NAME_PREFIX."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 3-40 characters, lowercase letters, digits and hyphens (it is part of S3 bucket names)."
  }
}

# --- SQS -------------------------------------------------------------------------------------------------------------

variable "max_receive_count" {
  description = "Receives before SQS moves a message to its stage's DLQ (redrive maxReceiveCount). Must match the code's setting (default 5)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "Retention of stage queues and DLQs (SQS maximum, 14 days, by default)."
  type        = number
  default     = 1209600
}

# --- DynamoDB --------------------------------------------------------------------------------------------------------

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on every table."
  type        = bool
  default     = true
}

# --- S3 --------------------------------------------------------------------------------------------------------------

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` delete non-empty buckets (only for throw-away environments)."
  type        = bool
  default     = false
}

variable "create_simulator_bucket" {
  description = "Create the {prefix}-simulator bucket for the WXCC simulator's generated recordings (demo/staging environments)."
  type        = bool
  default     = true
}

variable "recordings_retention_days" {
  description = "Days a call recording is kept (recordings/ in {prefix}-recordings)."
  type        = number
  default     = 180
}

variable "recordings_infrequent_access_after_days" {
  description = "Days after which recordings move to STANDARD_IA (0 disables the transition; must be < recordings_retention_days)."
  type        = number
  default     = 30
}

variable "transcripts_retention_days" {
  description = "Days a transcript is kept (transcripts/ in {prefix}-results)."
  type        = number
  default     = 365
}

variable "analyses_retention_days" {
  description = "Days an analysis is kept (analyses/ in {prefix}-results)."
  type        = number
  default     = 730
}

variable "analytics_retention_days" {
  description = "Days the Athena analytics lines are kept (analytics/ in {prefix}-results)."
  type        = number
  default     = 730
}

variable "athena_results_retention_days" {
  description = "Days Athena query results are kept (athena-results/ in {prefix}-results)."
  type        = number
  default     = 30
}

variable "messages_retention_days" {
  description = "Days a claim-check message body is kept ({prefix}-messages). Keep it above the queue retention (14 days) so a message still in a queue or DLQ finds its body."
  type        = number
  default     = 15
}

variable "logs_retention_days" {
  description = "Days S3 server access logs and ALB access logs are kept ({prefix}-logs)."
  type        = number
  default     = 365
}

variable "simulator_retention_days" {
  description = "Days simulator data is kept ({prefix}-simulator)."
  type        = number
  default     = 30
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept in versioned buckets."
  type        = number
  default     = 30
}

# --- KMS -------------------------------------------------------------------------------------------------------------

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the data key is deleted after `terraform destroy`."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

# privacy (issue 16): the same days as CALLPIPE_RETENTION_REPORTS_DAYS / CALLPIPE_RETENTION_CHECKPOINTS_DAYS
variable "reports_retention_days" {
  description = "Days journey reports and journey logs (results bucket, reports/) are kept."
  type        = number
  default     = 730
}

variable "checkpoints_retention_days" {
  description = "Days transcription checkpoints (raw, unredacted chunk text under work/) may outlive a failed step."
  type        = number
  default     = 2
}
