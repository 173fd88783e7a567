variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed key that encrypts the schedule."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster that runs the journey-starter task."
  type        = string
}

variable "journey_starter" {
  description = "The compute module's `journey_starter` output: task definition, roles to pass, subnets, security groups."
  type = object({
    task_definition_arn = string
    pass_role_arns      = list(string)
    subnet_ids          = list(string)
    security_group_ids  = list(string)
  })
}

variable "enabled" {
  description = "Whether scheduled ingestion runs."
  type        = bool
  default     = true
}

variable "interval_minutes" {
  description = "Start a polling journey every this many minutes."
  type        = number
  default     = 15

  validation {
    condition     = var.interval_minutes >= 1 && floor(var.interval_minutes) == var.interval_minutes
    error_message = "interval_minutes must be a whole number of minutes, at least 1."
  }
}

variable "timezone" {
  description = "Time zone of the schedule expression."
  type        = string
  default     = "UTC"
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
