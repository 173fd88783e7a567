provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "callpipe:deployment" = var.name_prefix
      "managed-by"          = "terraform"
    })
  }
}
