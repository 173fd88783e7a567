# Optional OIDC sign-in for the console and the API (issue 20): a Cognito user pool with a hosted-UI domain, a public
# app client for the console (authorization code + PKCE, no client secret) and one group per callpipe scope. The API
# validates the pool's ID tokens (aud = the client id) against its JWKS and maps `cognito:groups` to scopes:
#
#   callpipe-read      journeys, calls, transcripts, analytics, reports
#   callpipe-operate   + start/cancel journeys, DLQ replay
#   callpipe-admin     + license activation, erasure, resume held calls, the audit trail
#
# Users are created by an administrator (no self sign-up) and put in one group:
#   aws cognito-idp admin-create-user --user-pool-id <pool> --username ada@example.com
#   aws cognito-idp admin-add-user-to-group --user-pool-id <pool> --username ada@example.com --group-name callpipe-read
# `api_environment` (output) is what the API container needs; the example env merges it into compute's environment.

data "aws_region" "current" {}

locals {
  groups = {
    read    = { precedence = 30, description = "callpipe read scope: journeys, calls, transcripts, analytics, reports" }
    operate = { precedence = 20, description = "callpipe operate scope: read, and start/cancel journeys, DLQ replay" }
    admin   = { precedence = 10, description = "callpipe admin scope: operate, and license, erasure, audit trail" }
  }
  issuer = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
}

resource "aws_cognito_user_pool" "this" {
  name                     = "${var.name_prefix}-users"
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = var.mfa
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  dynamic "software_token_mfa_configuration" {
    for_each = var.mfa == "OFF" ? [] : [1]
    content {
      enabled = true
    }
  }

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = var.advanced_security_mode
  }

  tags = var.tags
}

resource "aws_cognito_user_pool_domain" "this" {
  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}

resource "aws_cognito_user_pool_client" "console" {
  name         = "${var.name_prefix}-console"
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret                      = false # a browser app: PKCE instead of a secret
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.callback_urls
  logout_urls                          = var.logout_urls
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true

  id_token_validity      = var.token_validity_minutes
  access_token_validity  = var.token_validity_minutes
  refresh_token_validity = var.refresh_token_validity_days
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}

resource "aws_cognito_user_group" "scope" {
  for_each = local.groups

  name         = "callpipe-${each.key}"
  user_pool_id = aws_cognito_user_pool.this.id
  precedence   = each.value.precedence
  description  = each.value.description
}
