variable "region" {
  description = "AWS region of the deployment."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"callpipe-prod\" (the containers get it as CALLPIPE_NAME_PREFIX)."
  type        = string
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

# --- Data ------------------------------------------------------------------------------------------------------------

variable "max_receive_count" {
  description = "Receives before a message goes to its stage's DLQ."
  type        = number
  default     = 5
}

variable "retention_days" {
  description = "Data retention policy in days (see modules/data for what each covers)."
  type = object({
    recordings     = optional(number, 180)
    transcripts    = optional(number, 365)
    analyses       = optional(number, 730)
    analytics      = optional(number, 730)
    athena_results = optional(number, 30)
    messages       = optional(number, 15)
    logs           = optional(number, 365)
    simulator      = optional(number, 30)
    noncurrent     = optional(number, 30)
  })
  default = {}
}

variable "create_simulator_bucket" {
  description = "Create the {prefix}-simulator bucket (demo and staging environments)."
  type        = bool
  default     = false
}

# --- Configuration ---------------------------------------------------------------------------------------------------

variable "settings" {
  description = "Non-secret CALLPIPE_* settings, stored as SSM parameters and injected into every container."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "Extra plain environment variables for every container."
  type        = map(string)
  default     = {}
}

# --- Compute ---------------------------------------------------------------------------------------------------------

variable "image_tag" {
  description = "Image tag in the deployment's ECR repository (see the ecr_repository_url output)."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64, matching the pushed image."
  type        = string
  default     = "X86_64"
}

variable "vpc_id" {
  description = "VPC to run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks (egress through NAT or VPC endpoints)."
  type        = list(string)
}

variable "alb_subnet_ids" {
  description = "Subnets of the API load balancer."
  type        = list(string)
}

variable "alb_internal" {
  description = "Keep the API load balancer internal to the VPC."
  type        = bool
  default     = true
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to call the API."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the API's HTTPS listener."
  type        = string
}

variable "api_domain_name" {
  description = "DNS name of the API, if you point a record at the load balancer."
  type        = string
  default     = null
}

variable "waf_web_acl_arn" {
  description = "Optional WAFv2 web ACL for the API load balancer."
  type        = string
  default     = null
}

variable "api" {
  description = "API task size and count."
  type = object({
    cpu           = number
    memory        = number
    desired_count = number
  })
  default = {
    cpu           = 512
    memory        = 1024
    desired_count = 2
  }
}

variable "workers" {
  description = "Per stage: cpu, memory, max_tasks, target_backlog_per_task (null: the compute module's defaults)."
  type = map(object({
    cpu                     = number
    memory                  = number
    max_tasks               = number
    target_backlog_per_task = number
  }))
  default = null
}

variable "worker_on_demand_weight" {
  description = "On-demand FARGATE weight beside FARGATE_SPOT (1) for workers; 0 = Spot only."
  type        = number
  default     = 0
}

# --- Observability, scheduling ---------------------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Container log retention."
  type        = number
  default     = 365
}

variable "alarm_email_addresses" {
  description = "Who gets DLQ and queue-age alarms."
  type        = list(string)
  default     = []
}

variable "poll_schedule_enabled" {
  description = "Run scheduled ingestion."
  type        = bool
  default     = true
}

variable "poll_interval_minutes" {
  description = "Start a polling journey every N minutes."
  type        = number
  default     = 15
}

variable "poll_lookback_minutes" {
  description = "Window each scheduled poll searches (overlapping windows are deduplicated by the tracking table)."
  type        = number
  default     = 60
}

# --- Access control (issue 20) ---------------------------------------------------------------------------------------

variable "cognito" {
  description = "Optional Cognito sign-in for the console and the API (modules/auth); off by default."
  type = object({
    enabled       = optional(bool, false)
    domain_prefix = optional(string, "")       # hosted-UI domain prefix; default the name prefix
    callback_urls = optional(list(string), []) # the console's URL, e.g. ["https://callpipe.example.com/"]
    logout_urls   = optional(list(string), [])
    mfa           = optional(string, "OPTIONAL")
  })
  default = {}
}

