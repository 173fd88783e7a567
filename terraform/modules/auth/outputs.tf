output "issuer" {
  description = "The OIDC issuer (CALLPIPE_OIDC_ISSUER)."
  value       = local.issuer
}

output "client_id" {
  description = "The console's app client id: the ID tokens' audience (CALLPIPE_OIDC_AUDIENCE)."
  value       = aws_cognito_user_pool_client.console.id
}

output "user_pool_id" {
  description = "The user pool (create users and add them to a callpipe-* group here)."
  value       = aws_cognito_user_pool.this.id
}

output "hosted_ui_url" {
  description = "Base URL of the hosted sign-in pages."
  value       = "https://${aws_cognito_user_pool_domain.this.domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
}

output "groups" {
  description = "Scope to Cognito group name."
  value       = { for scope, g in aws_cognito_user_group.scope : scope => g.name }
}

output "api_environment" {
  description = "The API container's environment for OIDC sign-in (merge into the compute module's environment)."
  value = {
    CALLPIPE_OIDC_ISSUER      = local.issuer
    CALLPIPE_OIDC_AUDIENCE    = aws_cognito_user_pool_client.console.id
    CALLPIPE_OIDC_CLIENT_ID   = aws_cognito_user_pool_client.console.id
    CALLPIPE_OIDC_SCOPE_CLAIM = "cognito:groups"
  }
}
