module cinemaabyss/bench/goproxy

go 1.22
