# Credentials live in Secrets Manager; Terraform creates the secrets but never their values (which would otherwise
# sit in the state). Put the values once after the first apply:
#   aws secretsmanager put-secret-value --secret-id <prefix>/wxcc/client-secret --secret-string '...'
#   aws secretsmanager put-secret-value --secret-id <prefix>/openai/api-key     --secret-string 'sk-...'
# When a task starts, ECS injects them as CALLPIPE_WXCC_CLIENT_SECRET (poll, fetch) and OPENAI_API_KEY (transcribe,
# analyze): each service gets only the credential it uses (compute module, service_credentials).

locals {
  secrets = {
    wxcc_client_secret = {
      name        = "${var.name_prefix}/wxcc/client-secret"
      env         = "CALLPIPE_WXCC_CLIENT_SECRET"
      description = "Webex Contact Center OAuth client secret (service app or integration)."
    }
    openai_api_key = {
      name        = "${var.name_prefix}/openai/api-key"
      env         = "OPENAI_API_KEY"
      description = "API key of OpenAI or of the OpenAI-compatible server used for transcription and analysis."
    }
  }
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Both credentials are issued by third parties (Webex Control Hub, OpenAI) that offer no rotation API a Lambda could call; rotation is a documented manual runbook.
  for_each = local.secrets

  name                    = each.value.name
  description             = each.value.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_ssm_parameter" "setting" {
  for_each = var.settings

  name   = "/${var.name_prefix}/settings/${each.key}"
  type   = "SecureString"
  key_id = var.kms_key_arn
  value  = each.value
  tags   = var.tags
}
