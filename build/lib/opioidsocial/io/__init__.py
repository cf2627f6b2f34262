"""Reading and writing the files that cross stage boundaries."""
