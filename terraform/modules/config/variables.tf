variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key that encrypts the secrets and SecureString parameters."
  type        = string
}

variable "settings" {
  description = <<-EOT
    Non-secret settings the containers read as environment variables (pydantic-settings, prefix CALLPIPE_), e.g.
    { CALLPIPE_WXCC_CLIENT_ID = "...", CALLPIPE_WXCC_ORG_ID = "...", CALLPIPE_WXCC_DATACENTER = "us1" }.
    Each becomes the SSM parameter /{name_prefix}/settings/{KEY} and reaches the containers through ECS `secrets`,
    so changing one is an SSM edit plus a service redeploy, not a task-definition change.
  EOT
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.settings) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "settings keys are environment variable names: uppercase letters, digits and underscores."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 7
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
