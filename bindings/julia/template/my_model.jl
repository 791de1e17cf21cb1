# Template: a model served from Julia.  Replace my_log_density with your model and run
#   DEMOS_MAAS_LIBRARY=/path/to/libdemos_maas.so julia --project=/path/to/bindings/julia/DemosMaas my_model.jl [listen-uri ...]
using DemosMaas

# x: (2, n) points (one per column), θ = (mu, sigma) → n log-densities.
function my_log_density(x, θ)
    μ, σ = θ
    σ > 0 || error("sigma must be positive")  # becomes ModelError at the caller
    vec(sum(-0.5 .* ((x .- μ) ./ σ) .^ 2; dims=1)) .- size(x, 1) * log(σ * sqrt(2π))
end

server = Server(listen=isempty(ARGS) ? ["tcp://127.0.0.1:5000"] : ARGS)
register!(server, "my_model", 2; log_density=my_log_density, parameters=["mu" => [0.0], "sigma" => [1.0]])
start!(server)
println("listening ", join(endpoints(server), " "))
serve(server)
