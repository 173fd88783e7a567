output "secret_arns" {
  description = "Secret role (wxcc_client_secret, openai_api_key) to ARN."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "parameter_arns" {
  description = "Setting name to SSM parameter ARN."
  value       = { for k, p in aws_ssm_parameter.setting : k => p.arn }
}

output "credential_secrets" {
  description = "Credential role to the ECS container `secrets` entry that injects it ({name = env var, valueFrom = ARN})."
  value = {
    for k, s in local.secrets : k => { name = s.env, valueFrom = aws_secretsmanager_secret.this[k].arn }
  }
}

output "setting_secrets" {
  description = "ECS container `secrets` entries that inject every setting under its own name."
  value       = [for k, p in aws_ssm_parameter.setting : { name = k, valueFrom = p.arn }]
}
