# An example deployment wiring every module. Copy this directory per environment, fill terraform.tfvars (see
# terraform.tfvars.example) and a backend.hcl, then:
#   terraform init -backend-config=backend.hcl && terraform apply

module "data" {
  source = "../../modules/data"

  name_prefix             = var.name_prefix
  max_receive_count       = var.max_receive_count
  create_simulator_bucket = var.create_simulator_bucket

  recordings_retention_days         = var.retention_days.recordings
  transcripts_retention_days        = var.retention_days.transcripts
  analyses_retention_days           = var.retention_days.analyses
  analytics_retention_days          = var.retention_days.analytics
  athena_results_retention_days     = var.retention_days.athena_results
  messages_retention_days           = var.retention_days.messages
  logs_retention_days               = var.retention_days.logs
  simulator_retention_days          = var.retention_days.simulator
  noncurrent_version_retention_days = var.retention_days.noncurrent
}

module "queue_policies" {
  source = "../../modules/queue_policies"

  queues = module.data.queues
}

module "config" {
  source = "../../modules/config"

  name_prefix = var.name_prefix
  kms_key_arn = module.data.kms_key_arn
  settings    = var.settings
}

module "observability" {
  source = "../../modules/observability"

  name_prefix           = var.name_prefix
  kms_key_arn           = module.data.kms_key_arn
  queues                = module.data.queues
  log_retention_days    = var.log_retention_days
  alarm_email_addresses = var.alarm_email_addresses
}

module "compute" {
  source = "../../modules/compute"

  name_prefix = var.name_prefix
  kms_key_arn = module.data.kms_key_arn

  queues  = module.data.queues
  tables  = module.data.tables
  buckets = module.data.buckets

  log_group_names    = module.observability.log_group_names
  log_group_arns     = module.observability.log_group_arns
  credential_secrets = module.config.credential_secrets
  setting_secrets    = module.config.setting_secrets
  secret_arns        = values(module.config.secret_arns)
  parameter_arns     = values(module.config.parameter_arns)
  environment        = merge(var.environment, try(module.auth[0].api_environment, {})) # OIDC when cognito is on

  image_tag        = var.image_tag
  cpu_architecture = var.cpu_architecture

  vpc_id            = var.vpc_id
  task_subnet_ids   = var.private_subnet_ids
  alb_subnet_ids    = var.alb_subnet_ids
  alb_internal      = var.alb_internal
  alb_ingress_cidrs = var.alb_ingress_cidrs
  certificate_arn   = var.certificate_arn
  api_domain_name   = var.api_domain_name
  waf_web_acl_arn   = var.waf_web_acl_arn

  api                     = var.api
  workers                 = var.workers
  worker_on_demand_weight = var.worker_on_demand_weight

  journey_starter_command = ["journey", "start", "--lookback-minutes", tostring(var.poll_lookback_minutes)]
}

module "analytics" {
  source = "../../modules/analytics"

  name_prefix    = var.name_prefix
  kms_key_arn    = module.data.kms_key_arn
  results_bucket = module.data.buckets.results
}

module "scheduling" {
  source = "../../modules/scheduling"

  name_prefix      = var.name_prefix
  kms_key_arn      = module.data.kms_key_arn
  cluster_arn      = module.compute.cluster_arn
  journey_starter  = module.compute.journey_starter
  enabled          = var.poll_schedule_enabled
  interval_minutes = var.poll_interval_minutes
}

# access control (issue 20): optional Cognito sign-in (off by default; var.cognito.enabled turns it on)
module "auth" {
  count  = var.cognito.enabled ? 1 : 0
  source = "../../modules/auth"

  name_prefix   = var.name_prefix
  domain_prefix = coalesce(var.cognito.domain_prefix, var.name_prefix)
  callback_urls = var.cognito.callback_urls
  logout_urls   = var.cognito.logout_urls
  mfa           = var.cognito.mfa
}
