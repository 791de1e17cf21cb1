# A Julia-served model for the tests (run as its own process, so the client's blocking ccalls and the
# server's callbacks never share a Julia process):  julia --project=.. served_model.jl <uri>...
using DemosMaas

include("model_functions.jl")

server = Server(listen=ARGS, log_level="error")
register!(server, "jlnormal", 2; log_density=normal_logp, gradient=normal_grad, sampler=normal_sampler,
          parameters=["mu" => [0.0, 0.0], "sigma" => [1.0, 1.0]])
register_example!(server, "gaussian2d")  # the README example's model
register!(server, "failing", 1; log_density=(x, θ) -> any(x .< 0) ? error("negative x is outside the model") : vec(x))
start!(server)
println("listening ", join(endpoints(server), " "))
flush(stdout)
serve(server)
