variable "name_prefix" {
  description = "Prefix of every resource name; also the code's CALLPIPE_NAME_PREFIX."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's customer-managed key (S3 SSE-KMS, secrets, parameters, ECR)."
  type        = string
}

# --- Data plane (outputs of the data, config and observability modules) ----------------------------------------------

variable "queues" {
  description = "The data module's `queues` output."
  type = map(object({
    name     = string
    url      = string
    arn      = string
    dlq_name = string
    dlq_url  = string
    dlq_arn  = string
  }))
}

variable "tables" {
  description = "The data module's `tables` output."
  type = map(object({
    name       = string
    arn        = string
    index_arns = map(string)
  }))
}

variable "buckets" {
  description = "The data module's `buckets` output (must hold recordings, results, messages and logs)."
  type = map(object({
    name = string
    arn  = string
  }))
}

variable "log_group_names" {
  description = "Service (api and each stage) to CloudWatch log group name."
  type        = map(string)
}

variable "log_group_arns" {
  description = "Service to CloudWatch log group ARN."
  type        = map(string)
}

variable "credential_secrets" {
  description = "The config module's credential_secrets: wxcc_client_secret and openai_api_key as ECS `secrets` entries."
  type = map(object({
    name      = string
    valueFrom = string
  }))
}

variable "setting_secrets" {
  description = "ECS `secrets` entries injected into every container (the config module's setting_secrets)."
  type = list(object({
    name      = string
    valueFrom = string
  }))
  default = []
}

variable "journey_starter_command" {
  description = <<-EOT
    Command (after the `callpipe` entrypoint) of the one-off task that EventBridge Scheduler runs to start a polling
    journey: it creates the journey the way the API does and enqueues its first poll message.
  EOT
  type        = list(string)
  default     = ["journey", "start", "--lookback-minutes", "60"]
}

variable "service_credentials" {
  description = "Which credentials each service's container receives: only the stages that call WXCC or OpenAI get their secret."
  type        = map(list(string))
  default = {
    api        = []
    poll       = ["wxcc_client_secret"]
    fetch      = ["wxcc_client_secret"]
    transcribe = ["openai_api_key"]
    analyze    = ["openai_api_key"]
  }
}

variable "secret_arns" {
  description = "Secrets Manager ARNs the execution role may read to inject the container secrets."
  type        = list(string)
}

variable "parameter_arns" {
  description = "SSM parameter ARNs the execution role may read to inject the container secrets."
  type        = list(string)
  default     = []
}

variable "environment" {
  description = "Extra plain environment variables for every container (CALLPIPE_NAME_PREFIX, AWS_REGION and CALLPIPE_LOG_FORMAT are always set)."
  type        = map(string)
  default     = {}
}

# --- Image -------------------------------------------------------------------------------------------------------------

variable "image" {
  description = "Full image reference to run. Null: this module's ECR repository at image_tag."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Tag in this module's ECR repository (tags are immutable: deploy a new tag per build, e.g. the git SHA)."
  type        = string
  default     = "latest"
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: must match the image's platform."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

# --- Network -----------------------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC of the tasks and the load balancer."
  type        = string
}

variable "task_subnet_ids" {
  description = "Private subnets of the tasks (with a NAT gateway or VPC endpoints for AWS, WXCC and OpenAI)."
  type        = list(string)
}

variable "task_egress_cidrs" {
  description = "Where tasks may connect (HTTPS to AWS APIs, Webex Contact Center and OpenAI)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "task_egress_ports" {
  description = "TCP ports tasks may connect to (add the port of a self-hosted OpenAI-compatible server if any)."
  type        = list(number)
  default     = [443]
}

variable "alb_subnet_ids" {
  description = "Subnets of the API load balancer (public subnets if alb_internal is false)."
  type        = list(string)
}

variable "alb_internal" {
  description = "Internal (VPC-only) load balancer for the API."
  type        = bool
  default     = true
}

variable "alb_ingress_cidrs" {
  description = "CIDRs allowed to call the API over HTTPS."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the API's HTTPS listener."
  type        = string
}

variable "alb_deletion_protection" {
  description = "Deletion protection on the load balancer."
  type        = bool
  default     = true
}

variable "waf_web_acl_arn" {
  description = "WAFv2 web ACL to associate with the load balancer (null: none)."
  type        = string
  default     = null
}

variable "api_domain_name" {
  description = "DNS name clients use for the API (a record you manage pointing at the load balancer); null: the load balancer's own name."
  type        = string
  default     = null
}

# --- Sizing and scaling ------------------------------------------------------------------------------------------------

variable "api" {
  description = "API service size and task count."
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
  description = <<-EOT
    Per stage: task size, the autoscaling maximum, and the backlog per task the target-tracking policy holds
    (visible messages / running tasks). The minimum is 0, so an idle stage runs no task. Null means the defaults.
  EOT
  nullable    = false
  type = map(object({
    cpu                     = number
    memory                  = number
    max_tasks               = number
    target_backlog_per_task = number
  }))
  default = {
    poll       = { cpu = 256, memory = 512, max_tasks = 2, target_backlog_per_task = 5 }
    fetch      = { cpu = 512, memory = 1024, max_tasks = 10, target_backlog_per_task = 20 }
    transcribe = { cpu = 1024, memory = 2048, max_tasks = 10, target_backlog_per_task = 5 }
    analyze    = { cpu = 512, memory = 1024, max_tasks = 10, target_backlog_per_task = 10 }
  }

  validation {
    condition     = alltrue([for s in ["poll", "fetch", "transcribe", "analyze"] : contains(keys(var.workers), s)])
    error_message = "workers must define poll, fetch, transcribe and analyze."
  }
}

variable "worker_on_demand_weight" {
  description = "Weight of on-demand FARGATE next to FARGATE_SPOT (weight 1) for workers; 0 runs workers on Spot only."
  type        = number
  default     = 0
}

variable "scale_out_cooldown" {
  description = "Seconds between scale-out steps of a worker service."
  type        = number
  default     = 60
}

variable "scale_in_cooldown" {
  description = "Seconds between scale-in steps of a worker service."
  type        = number
  default     = 300
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
