# Applies ONLY the data module (queues, DLQs + redrive, tables, buckets, key) against a local AWS emulator
# (moto server or LocalStack), so CI can prove Terraform and the code agree on names and redrive settings.
# Credentials come from the environment (AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test); state stays local.
terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
