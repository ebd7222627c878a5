module cinemaabyss/deploy/tools/k8s-schemas

go 1.22
