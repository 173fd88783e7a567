provider "aws" {
  region = var.region

  # Nothing real to validate or look up: an emulator answers every call.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  # Calls the emulator does not implement must fail fast instead of retrying for minutes.
  max_retries = 2

  endpoints {
    cloudwatch     = var.endpoint
    dynamodb       = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    logs           = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sqs            = var.endpoint
    ssm            = var.endpoint
    sts            = var.endpoint
  }

  default_tags {
    tags = {
      "callpipe:environment" = "local"
    }
  }
}
