terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: pass bucket, key, region (and use_lockfile = true) at init, e.g.
  #   terraform init -backend-config=backend.hcl
  # CI validates with `terraform init -backend=false`.
  backend "s3" {}
}
